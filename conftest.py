"""Test fixtures shared by every package: one real PostgreSQL per test session.

``TEST_DATABASE_URL`` (a ``postgresql://`` URL of a server with pgvector, whose user may create
databases) is used when set; otherwise an embedded PostgreSQL 18 is started in a temporary folder.
Each package's conftest creates its own database in that server.
"""

import os
from collections.abc import Iterator

import pytest

from testsupport.postgres import (
    PostgresServer,
    start_embedded_postgres,
    stop_embedded_postgres,
)


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """The session's PostgreSQL server."""
    configured = os.environ.get("TEST_DATABASE_URL")
    if configured:
        yield PostgresServer(admin_url=configured.replace("postgresql+asyncpg://", "postgresql://"))
        return
    server = start_embedded_postgres(tmp_path_factory.mktemp("pg") / "data")
    yield PostgresServer(admin_url=server.get_uri("postgres"))  # type: ignore[attr-defined]
    stop_embedded_postgres(server)
