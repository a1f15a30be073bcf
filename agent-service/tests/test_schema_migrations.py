"""The passages tables are versioned: each migration runs once per table, old tables are adopted."""

from collections.abc import AsyncIterator

import asyncpg
import pytest

from agent_service.retrieval.schema import MIGRATIONS, migrate_passages_table, schema_version
from testsupport.postgres import PostgresServer

TABLE = "passages_migration_test_8"
ADD_SOURCE = "ALTER TABLE {table} ADD COLUMN source text NOT NULL DEFAULT 'upload'"


@pytest.fixture
async def connection(postgres_server: PostgresServer) -> AsyncIterator[asyncpg.Connection]:
    name = await postgres_server.create_database("agent_migrations")
    connection = await asyncpg.connect(postgres_server.url_for(name))
    try:
        yield connection
    finally:
        await connection.close()
        await postgres_server.drop_database(name)


async def _columns(connection: asyncpg.Connection) -> list[str]:
    rows = await connection.fetch(
        "SELECT column_name FROM information_schema.columns WHERE table_name = $1 "
        "ORDER BY ordinal_position",
        TABLE,
    )
    return [row["column_name"] for row in rows]


async def test_a_new_table_gets_every_migration_once(connection: asyncpg.Connection) -> None:
    first = await migrate_passages_table(connection, table=TABLE, dimensions=8)
    again = await migrate_passages_table(connection, table=TABLE, dimensions=8)
    assert first == again == len(MIGRATIONS)
    assert await schema_version(connection, TABLE) == len(MIGRATIONS)
    assert "content_tsv" in await _columns(connection)


async def test_a_later_migration_changes_an_existing_table_and_keeps_its_rows(
    connection: asyncpg.Connection,
) -> None:
    await migrate_passages_table(connection, table=TABLE, dimensions=8)
    await connection.execute(
        f"INSERT INTO {TABLE} (namespace, id, document_id, content, embedding) "  # noqa: S608
        "VALUES ('n', '1', 'd', 'kept', '[1,0,0,0,0,0,0,0]')"
    )
    extended = (*MIGRATIONS, ADD_SOURCE)
    version = await migrate_passages_table(
        connection, table=TABLE, dimensions=8, migrations=extended
    )
    again = await migrate_passages_table(connection, table=TABLE, dimensions=8, migrations=extended)
    assert version == again == len(MIGRATIONS) + 1
    assert await connection.fetchval(f"SELECT source FROM {TABLE}") == "upload"  # noqa: S608


async def test_a_table_made_before_versions_is_adopted_as_version_one(
    connection: asyncpg.Connection,
) -> None:
    await connection.execute("CREATE EXTENSION IF NOT EXISTS vector")
    await connection.execute(MIGRATIONS[0].format(table=TABLE, dimensions=8))
    version = await migrate_passages_table(connection, table=TABLE, dimensions=8)
    assert version == len(MIGRATIONS)
    assert await schema_version(connection, TABLE) == len(MIGRATIONS)
