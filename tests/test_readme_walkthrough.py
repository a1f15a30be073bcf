"""The README's first five minutes, run as written against a real ``make run``."""

import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from testsupport.service_process import free_port, make_run_environment

ROOT = Path(__file__).resolve().parent.parent
_BLOCK = re.compile(
    r"<!-- walkthrough:start -->\n```bash\n(?P<script>.*?)```\n<!-- walkthrough:end -->", re.S
)


def walkthrough() -> str:
    """The copy-paste block of the README."""
    found = _BLOCK.search((ROOT / "README.md").read_text())
    assert found is not None, "the README has lost its walkthrough block"
    return found["script"]


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310 - loopback only
            return bool(answer.status == 200)
    except OSError:
        return False


@pytest.mark.slow
def test_the_readme_walkthrough_runs_as_written(tmp_path: Path) -> None:
    core_port, agent_port = free_port(), free_port()
    env = make_run_environment(str(tmp_path / "data"), core_port=core_port, agent_port=agent_port)
    runner = subprocess.Popen(  # noqa: S603 - our own script
        [sys.executable, str(ROOT / "scripts" / "run_local.py")],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 90
        while not _ready(f"http://127.0.0.1:{core_port}/readyz"):
            assert runner.poll() is None, "make run exited"
            assert time.monotonic() < deadline, "make run was never ready"
            time.sleep(0.5)
        shell = subprocess.run(  # noqa: S603 - the README's own commands
            ["/bin/bash", "-euo", "pipefail", "-c", walkthrough()],  # noqa: S607
            env=env | {"BASE": f"http://127.0.0.1:{core_port}"},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        runner.send_signal(signal.SIGTERM)
        runner.wait(timeout=40)
    assert shell.returncode == 0, shell.stdout + shell.stderr
    assert "document: ready" in shell.stdout
    assert "02:00" in shell.stdout
    assert "event: token" in shell.stdout
    assert "maintenance mode" in shell.stdout
    assert "event: done" in shell.stdout
