"""The passages tables are versioned: each migration runs once per table, old tables are adopted."""

from collections.abc import AsyncIterator

import asyncpg
import pytest

from agent_service.retrieval.schema import (
    MIGRATIONS,
    PARTITIONS,
    migrate_passages_table,
    schema_version,
)
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


async def test_the_partitioned_layout_takes_over_a_table_with_rows(
    connection: asyncpg.Connection,
) -> None:
    table = TABLE
    await migrate_passages_table(connection, table=table, dimensions=8, migrations=MIGRATIONS[:2])
    await connection.execute(
        f"INSERT INTO {table} (namespace, id, document_id, content, embedding) "  # noqa: S608
        "SELECT 'bot-' || n % 40, 'c' || n, 'd', 'invoice ZK-' || n, '[1,0,0,0,0,0,0,1]'"
        " FROM generate_series(1, 400) AS n"
    )
    assert await migrate_passages_table(connection, table=table, dimensions=8) == len(MIGRATIONS)
    partitions = await connection.fetchval(
        "SELECT count(*) FROM pg_inherits WHERE inhparent = $1::regclass", table
    )
    hnsw_per_partition = await connection.fetchval(
        "SELECT count(*) FROM pg_inherits p JOIN pg_index x ON x.indrelid = p.inhrelid"
        " JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_am a ON a.oid = i.relam"
        " WHERE p.inhparent = $1::regclass AND a.amname = 'hnsw'",
        table,
    )
    assert partitions == hnsw_per_partition == PARTITIONS
    assert await connection.fetchval(f"SELECT count(*) FROM {table}") == 400  # noqa: S608
    # The full-text columns are generated again for the moved rows, and upserts still conflict.
    found = await connection.fetchval(
        f"SELECT id FROM {table} WHERE code_tsv @@ to_tsquery('simple', 'zk <-> 7')"  # noqa: S608
    )
    assert found == "c7"
    await connection.execute(
        f"INSERT INTO {table} (namespace, id, document_id, content, embedding) "  # noqa: S608
        "VALUES ('bot-7', 'c7', 'd', 'changed', '[0,1,0,0,0,0,0,0]')"
        " ON CONFLICT (namespace, id) DO UPDATE SET content = EXCLUDED.content"
    )
    assert await connection.fetchval(f"SELECT content FROM {table} WHERE id = 'c7'") == "changed"  # noqa: S608
