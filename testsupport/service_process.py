"""Real service processes: the APIs (as the images run them) and the worker."""

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any

__all__ = [
    "ServiceProcess",
    "exited_after_sigterm",
    "first_event_index",
    "free_port",
    "log_events",
    "make_run_environment",
    "port_is_closed",
    "running_uvicorn",
    "running_worker",
]


def exited_after_sigterm(returncode: int | None) -> bool:
    """A clean exit on SIGTERM: 0, or uvicorn's re-raised SIGTERM after its graceful shutdown.

    uvicorn restores the default handler and raises the signal again once it has shut down, so
    that a supervisor sees "terminated by SIGTERM" (status 143 in a shell).
    """
    return returncode in (0, -signal.SIGTERM)


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def port_is_closed(port: int) -> bool:
    """True once nothing accepts connections on the loopback port."""
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) != 0


@dataclass(frozen=True)
class ServiceProcess:
    """A started process, where it listens (if it does), and what it printed."""

    process: subprocess.Popen[bytes]
    log: IO[bytes]
    port: int = 0

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    def terminate(self) -> None:
        """What Kubernetes and ``docker stop`` do first: SIGTERM."""
        self.process.send_signal(signal.SIGTERM)

    def wait(self, timeout_s: float) -> int:
        """The exit status, waiting at most ``timeout_s``."""
        return self.process.wait(timeout_s)

    def output(self) -> str:
        """Everything the process wrote to stdout and stderr so far."""
        with open(self.log.name, "rb") as log:
            return log.read().decode(errors="replace")

    def wait_for_output(self, needle: str, timeout_s: float = 30) -> bool:
        """True once ``needle`` appears in the output (polling, as a log reader would)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and self.process.poll() is None:
            if needle in self.output():
                return True
            time.sleep(0.05)
        return needle in self.output()


def log_events(output: str) -> list[dict[str, Any]]:
    """The JSON log lines of a service's output, in order (other lines are skipped)."""
    events = []
    for line in output.splitlines():
        if line.startswith("{"):
            try:
                events.append(json.loads(line))
            except ValueError:
                continue
    return events


def first_event_index(events: list[dict[str, Any]], **fields: str) -> int:
    """Where the first event whose fields start with the given values is (ValueError if none)."""
    for index, event in enumerate(events):
        if all(str(event.get(key, "")).startswith(value) for key, value in fields.items()):
            return index
    raise ValueError(f"no log event with {fields}")


def _environment(extra: dict[str, str]) -> dict[str, str]:
    inherited = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("CORE_", "AGENT_")) and key != "DATABASE_URL"
    }
    return inherited | extra


@contextmanager
def _started(command: list[str], env: dict[str, str], port: int = 0) -> Iterator[ServiceProcess]:
    with tempfile.NamedTemporaryFile(prefix="service-", suffix=".log") as log:
        process = subprocess.Popen(  # noqa: S603 - our own services
            command, env=_environment(env), stdout=log, stderr=subprocess.STDOUT
        )
        try:
            yield ServiceProcess(process=process, log=log, port=port)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


@contextmanager
def running_uvicorn(factory: str, env: dict[str, str]) -> Iterator[ServiceProcess]:
    """The service of ``factory`` (``core_service.main:create_app``) as its image runs it:
    ``python -m core_service``, uvicorn with the server's limits, on a free port, once
    ``/healthz`` answers."""
    port = free_port()
    package = factory.partition(".")[0]
    command = [sys.executable, "-m", package, "--host", "127.0.0.1", "--port", str(port)]
    with _started(command, env, port) as service:
        _wait_healthy(service)
        yield service


@contextmanager
def running_worker(env: dict[str, str]) -> Iterator[ServiceProcess]:
    """``python -m core_service.worker`` as the core image runs it."""
    with _started([sys.executable, "-m", "core_service.worker"], env) as worker:
        yield worker


def _wait_healthy(service: ServiceProcess, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            raise AssertionError(f"the service exited early:\n{service.output()}")
        try:
            with urllib.request.urlopen(f"{service.base_url}/healthz", timeout=2) as answer:  # noqa: S310
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"the service did not become healthy:\n{service.output()}")


def make_run_environment(data_dir: str, *, core_port: int, agent_port: int) -> dict[str, str]:
    """The environment of a `make run` (``scripts/run_local.py``) of the tests' own: this
    process's variables without any service setting, a data folder and two ports."""
    return _environment(
        {
            "CHATSPHERE_DATA_DIR": data_dir,
            "CORE_PORT": str(core_port),
            "AGENT_PORT": str(agent_port),
        }
    )
