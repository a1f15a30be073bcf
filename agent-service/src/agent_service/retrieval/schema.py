"""Versioned schema of the agent's passages tables, applied before the app serves.

Each embedder (model and dimensions) has its own passages table; every such table goes through
the same numbered migrations, and ``agent_schema_versions`` records how far each table got.
Changing a column, an index or the text-search configuration is a new entry at the end of
``MIGRATIONS``, never an edit of an old one.
"""

from collections.abc import Sequence

import asyncpg

__all__ = ["MIGRATIONS", "PARTITIONS", "migrate_passages_table", "schema_version"]

# Identifiers such as ZK-4471, HTTP/2 or v1.2.3: the 'english' parser reads "-4471" as a signed
# number and keeps "v1.2.3" whole, so the words are also indexed with the 'simple' configuration,
# split at every non-alphanumeric character (the query side splits codes the same way).
_CODE_TEXT = "regexp_replace(content, '[^[:alnum:]]+', ' ', 'g')"

PARTITIONS = 16
"""Hash partitions of a passages table by namespace.

One HNSW graph shared by every tenant makes a namespace filter costly: a namespace holding a
few percent of the rows is searched by walking a graph where most neighbours belong to others.
Each partition has its own, smaller graph and its own statistics, so a query reads one partition
and the planner knows each namespace's size there (exact scan for small ones, HNSW for large).
"""

_COLUMNS = f"""
    namespace text NOT NULL,
    id text NOT NULL,
    document_id text NOT NULL,
    content text NOT NULL,
    metadata jsonb NOT NULL DEFAULT '{{{{}}}}'::jsonb,
    embedding vector({{dimensions}}) NOT NULL,
    content_tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', content)) STORED,
    updated_at timestamptz NOT NULL DEFAULT now(),
    code_tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', {_CODE_TEXT})) STORED
"""

_KEPT = "namespace, id, document_id, content, metadata, embedding, updated_at"

# The rows are copied before the indexes are built (one pass per index, not one per row), and
# the old table is dropped before they are, so that the new ones take its index names.
_PARTITION_TABLES = "\n".join(
    f"CREATE TABLE {{prefix}}_p{n} PARTITION OF {{prefix}}_new"
    f" FOR VALUES WITH (MODULUS {PARTITIONS}, REMAINDER {n});"
    for n in range(PARTITIONS)
)
_PARTITIONED_LAYOUT = f"""
    CREATE TABLE {{prefix}}_new ({_COLUMNS}) PARTITION BY HASH (namespace);
    {_PARTITION_TABLES}
    INSERT INTO {{prefix}}_new ({_KEPT}) SELECT {_KEPT} FROM {{table}};
    DROP TABLE {{table}};
    ALTER TABLE {{prefix}}_new RENAME TO {{table}};
    ALTER TABLE {{table}} ADD CONSTRAINT {{table}}_pkey PRIMARY KEY (namespace, id);
    CREATE INDEX {{table}}_embedding_idx ON {{table}} USING hnsw (embedding vector_cosine_ops);
    CREATE INDEX {{table}}_content_tsv_idx ON {{table}} USING gin (content_tsv);
    CREATE INDEX {{table}}_code_tsv_idx ON {{table}} USING gin (code_tsv);
    CREATE INDEX {{table}}_document_idx ON {{table}} (namespace, document_id);
    ANALYZE {{table}};
"""  # noqa: S608 - built from constants; the table name comes from settings, never from input

MIGRATIONS: tuple[str, ...] = (
    # 1: the passages table with its vector (HNSW), full-text (GIN) and per-document indexes.
    """
    CREATE TABLE {table} (
        namespace text NOT NULL,
        id text NOT NULL,
        document_id text NOT NULL,
        content text NOT NULL,
        metadata jsonb NOT NULL DEFAULT '{{}}'::jsonb,
        embedding vector({dimensions}) NOT NULL,
        content_tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', content)) STORED,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (namespace, id)
    );
    CREATE INDEX {table}_embedding_idx ON {table} USING hnsw (embedding vector_cosine_ops);
    CREATE INDEX {table}_content_tsv_idx ON {table} USING gin (content_tsv);
    CREATE INDEX {table}_document_idx ON {table} (namespace, document_id);
    """,
    # 2: exact words and codes, part by part.
    f"""
    ALTER TABLE {{table}} ADD COLUMN code_tsv tsvector
        GENERATED ALWAYS AS (to_tsvector('simple', {_CODE_TEXT})) STORED;
    CREATE INDEX {{table}}_code_tsv_idx ON {{table}} USING gin (code_tsv);
    """,
    # 3: partitioned by namespace (see _PARTITIONED_LAYOUT); existing rows move across.
    _PARTITIONED_LAYOUT,
)

_VERSIONS_TABLE = """
CREATE TABLE IF NOT EXISTS agent_schema_versions (
    table_name text PRIMARY KEY,
    version integer NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


async def migrate_passages_table(
    connection: asyncpg.Connection,
    *,
    table: str,
    dimensions: int,
    migrations: Sequence[str] = MIGRATIONS,
) -> int:
    """Apply the migrations ``table`` has not had yet, in one transaction; its version after.

    Replicas starting together wait on one advisory lock, so each migration runs once.
    """
    async with connection.transaction():
        await connection.execute(
            "SELECT pg_advisory_xact_lock(hashtext('chatsphere-agent-schema'))"
        )
        await connection.execute("CREATE EXTENSION IF NOT EXISTS vector")
        await connection.execute(_VERSIONS_TABLE)
        current = await _current_version(connection, table)
        for statement in migrations[current:]:
            await connection.execute(
                # Names derived from the table's stay within PostgreSQL's 63 characters.
                statement.format(table=table, dimensions=dimensions, prefix=table[:52])
            )
        version = max(current, len(migrations))
        # Also records an adopted table's version, so that the next start reads it.
        await connection.execute(
            "INSERT INTO agent_schema_versions (table_name, version) VALUES ($1, $2) "
            "ON CONFLICT (table_name) DO UPDATE SET version = $2, applied_at = now() "
            "WHERE agent_schema_versions.version <> $2",
            table,
            version,
        )
        return version


async def schema_version(connection: asyncpg.Connection, table: str) -> int | None:
    """The recorded version of ``table`` (None when it has none)."""
    version: int | None = await connection.fetchval(
        "SELECT version FROM agent_schema_versions WHERE table_name = $1", table
    )
    return version


async def _current_version(connection: asyncpg.Connection, table: str) -> int:
    recorded = await schema_version(connection, table)
    if recorded is not None:
        return recorded
    # A table made before versions were recorded has exactly migration 1's shape.
    exists = await connection.fetchval("SELECT to_regclass($1) IS NOT NULL", table)
    return 1 if exists else 0
