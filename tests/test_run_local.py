"""`make run`'s orchestrator, run as a new user would: it serves, then stops leaving nothing."""

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from testsupport.service_process import free_port

ROOT = Path(__file__).resolve().parent.parent


def _status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310 - loopback only
            status: int = answer.status
            return status
    except OSError:
        return None


@pytest.mark.slow
def test_run_serves_both_readyz_and_stops_cleanly(tmp_path: Path) -> None:
    core_port, agent_port = free_port(), free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("CORE_", "AGENT_")) and key != "DATABASE_URL"
    }
    env |= {
        "CHATSPHERE_DATA_DIR": str(tmp_path / "data"),
        "CORE_PORT": str(core_port),
        "AGENT_PORT": str(agent_port),
    }
    runner = subprocess.Popen(  # noqa: S603 - our own script
        [sys.executable, str(ROOT / "scripts" / "run_local.py")],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        urls = [f"http://127.0.0.1:{port}/readyz" for port in (core_port, agent_port)]
        while time.monotonic() < deadline and any(_status(u) != 200 for u in urls):
            assert runner.poll() is None, runner.stdout.read() if runner.stdout else ""
            time.sleep(0.5)
        assert all(_status(u) == 200 for u in urls)
        family = psutil.Process(runner.pid).children(recursive=True)
        assert len(family) >= 3
        runner.send_signal(signal.SIGTERM)
        assert runner.wait(timeout=40) == 0
        _, alive = psutil.wait_procs(family, timeout=5)
        assert not alive, f"left behind: {[p.pid for p in alive]}"
        assert not any(str(tmp_path) in " ".join(p.cmdline()) for p in _postgres_processes())
    finally:
        if runner.poll() is None:
            runner.kill()


def _postgres_processes() -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["name"]):
        if process.info["name"] == "postgres":
            try:
                process.cmdline()
            except psutil.Error:
                continue
            found.append(process)
    return found
