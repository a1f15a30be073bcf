"""`make run`'s orchestrator, run as a new user would: it serves, then stops leaving nothing."""

import contextlib
import hashlib
import importlib.util
import json
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path
from types import ModuleType
from typing import Any

import psutil
import pytest

from testsupport.service_process import free_port, make_run_environment

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
    env = make_run_environment(str(tmp_path / "data"), core_port=core_port, agent_port=agent_port)
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


def _run_local_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("run_local", ROOT / "scripts" / "run_local.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


OPERATOR_KEY = "search-team-key-for-the-run-test"
OPERATOR_KEYS = json.dumps(
    [{"name": "search", "sha256": _digest(OPERATOR_KEY), "namespace_prefixes": ["search-"]}]
)


@pytest.mark.parametrize("core_key", [None, "an-operator-chosen-core-key"])
def test_the_core_key_is_merged_into_the_operators_agent_keys(core_key: str | None) -> None:
    env = {"AGENT_API_KEYS": OPERATOR_KEYS} | ({"CORE_AGENT_API_KEY": core_key} if core_key else {})
    _run_local_module()._configure_service_key(env)
    keys = json.loads(env["AGENT_API_KEYS"])
    assert [key["name"] for key in keys] == ["search", "core"]
    assert keys[1]["sha256"] == _digest(env["CORE_AGENT_API_KEY"])
    assert env["CORE_AGENT_API_KEY"] == (core_key or env["CORE_AGENT_API_KEY"])


def _post(url: str, body: dict[str, str], headers: dict[str, str], *, form: bool = False) -> Any:
    data = urllib.parse.urlencode(body).encode() if form else json.dumps(body).encode()
    kind = "application/x-www-form-urlencoded" if form else "application/json"
    request = urllib.request.Request(url, data, headers | {"Content-Type": kind})  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - loopback only
        return json.loads(answer.read())


def _promote(
    script: list[str], login: str, env: dict[str, str]
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*script, "promote", login], env=env, cwd=ROOT, check=False)  # noqa: S603


@pytest.mark.slow
def test_make_run_keeps_the_operators_agent_keys_and_promote_works(tmp_path: Path) -> None:
    core_port, agent_port = free_port(), free_port()
    env = make_run_environment(str(tmp_path / "data"), core_port=core_port, agent_port=agent_port)
    env["AGENT_API_KEYS"] = OPERATOR_KEYS
    script = [sys.executable, str(ROOT / "scripts" / "run_local.py")]
    log = tmp_path / "run.log"
    with log.open("w") as output:
        runner = subprocess.Popen(script, env=env, cwd=ROOT, stdout=output, stderr=output)  # noqa: S603
    try:
        core = f"http://127.0.0.1:{core_port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and "Press Ctrl-C" not in log.read_text():
            assert runner.poll() is None, log.read_text()
            time.sleep(0.5)
        assert "Press Ctrl-C" in log.read_text(), log.read_text()
        retrieved = _post(
            f"http://127.0.0.1:{agent_port}/v1/retrieve",
            {"namespace": "search-docs", "query": "anything"},
            {"Authorization": f"Bearer {OPERATOR_KEY}"},
        )
        user = {"username": "first_admin", "email": "first@example.com", "password": "p" * 12}
        _post(f"{core}/api/v1/auth/register", user, {})
        promoted = _promote(script, "first_admin", env)
        tokens = _post(f"{core}/api/v1/auth/login", user, {}, form=True)
        bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
        me = urllib.request.Request(f"{core}/api/v1/auth/me", headers=bearer)  # noqa: S310
        with urllib.request.urlopen(me, timeout=10) as answer:  # noqa: S310 - loopback only
            is_staff = json.loads(answer.read())["is_staff"]
        runner.send_signal(signal.SIGTERM)
        assert runner.wait(timeout=40) == 0
        # With the platform stopped, promote starts the embedded database itself.
        again = _promote(script, "first@example.com", env)
    finally:
        if runner.poll() is None:
            # Killing the runner alone would orphan the services it started.
            family = psutil.Process(runner.pid).children(recursive=True)
            runner.kill()
            for child in family:
                with contextlib.suppress(psutil.NoSuchProcess):
                    child.kill()
    printed = log.read_text()
    assert retrieved == {"matches": []}
    assert "make promote USER=<username or email>" in printed
    assert "core_service.admin.cli promote <login>" in printed
    assert (promoted.returncode, is_staff, again.returncode) == (0, True, 0)
