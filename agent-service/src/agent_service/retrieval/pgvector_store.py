"""Vectors in the agent's own PostgreSQL: one table per embedder, partitioned by namespace, with
HNSW and full-text indexes (see ``retrieval.schema``)."""

import json
import re
from collections.abc import Sequence
from typing import Any

import asyncpg
from pgvector import Vector

from agent_service.ingestion.embedders import Matrix
from agent_service.retrieval.schema import migrate_passages_table
from agent_service.retrieval.store import StoredMatch, VectorRecord

__all__ = ["PgVectorStore", "ensure_schema", "session_settings", "table_name_for"]

_MAX_QUERY_WORDS = 64
_QUERY_WORD = re.compile(r"[^\W_]+")
# A code: alphanumeric parts joined by separators (ZK-4471, HTTP/2, v1.2.3), or a word with a digit.
_CODE = re.compile(r"[^\W_]+(?:[-/.:][^\W_]+)+|[^\W_]*\d[^\W_]*")
_MAX_CODES = 8

# websearch_to_tsquery never raises on user input; 'or' makes any word enough to match.
# Ranking reads every matching row, and in a large namespace a common word matches most
# of them: rank at most keyword_candidates ($5) matches (the vector half still sees them all).
_KEYWORD_SQL = """
    WITH q AS (
        SELECT websearch_to_tsquery('english', $1) AS prose,
            to_tsquery('simple', $6) AS code_words,
            to_tsquery('simple', $7) AS codes
    ), matches AS (
        SELECT id, document_id, content, metadata, content_tsv, code_tsv
        FROM {table}, q
        WHERE namespace = $2 AND (content_tsv @@ q.prose OR code_tsv @@ q.code_words)
            AND ($3::text[] IS NULL OR document_id = ANY($3::text[]))
        LIMIT $5
    )
    SELECT id, document_id, content, metadata,
        ts_rank(content_tsv, q.prose, 1) + coalesce(ts_rank(code_tsv, q.code_words, 1), 0)
            + CASE WHEN code_tsv @@ q.codes THEN 1.0 ELSE 0.0 END AS score
    FROM matches, q
    ORDER BY score DESC, id
    LIMIT $4
"""

_VECTOR_SQL = """
    SELECT id, document_id, content, metadata, 1 - (embedding <=> $1) AS score
    FROM {table}
    WHERE namespace = $2 AND ($3::text[] IS NULL OR document_id = ANY($3::text[]))
    ORDER BY embedding <=> $1
    LIMIT $4
"""


def table_name_for(model: str, dimensions: int) -> str:
    """One table per embedding model: vectors of different models are not comparable."""
    slug = re.sub(r"[^a-z0-9]+", "_", model.lower()).strip("_")
    if not slug.endswith(f"_{dimensions}"):
        slug = f"{slug}_{dimensions}"
    return f"passages_{slug}"[:63]


def session_settings(*, ef_search: int) -> dict[str, str]:
    """What every connection of the store's pool starts with (its vector queries need them).

    The namespace filter is applied after the index scan: without iterative scans a namespace
    sharing its partition's graph would get fewer than top_k rows back. A custom plan per query
    lets the planner see the partition and the namespace's size there (a generic plan, which a
    prepared statement falls back to, picks one strategy, exact or HNSW, for every size).
    """
    return {
        "hnsw.iterative_scan": "relaxed_order",
        "hnsw.ef_search": str(ef_search),
        "plan_cache_mode": "force_custom_plan",
    }


async def ensure_schema(connection: asyncpg.Connection, *, table: str, dimensions: int) -> None:
    """Bring ``table`` to the latest schema version (see ``retrieval.schema``)."""
    await migrate_passages_table(connection, table=table, dimensions=dimensions)


class PgVectorStore:
    """The default store. Upsert is ``INSERT … ON CONFLICT (namespace, id) DO UPDATE``.

    Its pool's connections must start with ``session_settings`` (``database.create_pool``).
    """

    def __init__(self, pool: asyncpg.Pool, *, table: str, keyword_candidates: int = 1_000) -> None:
        self._pool = pool
        self._table = table
        self._keyword_candidates = keyword_candidates
        # Built once: the statement text is also the key of asyncpg's prepared statement cache.
        self._vector_sql = _VECTOR_SQL.format(table=table)
        self._keyword_sql = _KEYWORD_SQL.format(table=table)

    @property
    def supports_keyword_search(self) -> bool:
        """PostgreSQL full-text search is available."""
        return True

    @property
    def counts_deletions(self) -> bool:
        """``DELETE`` reports exact row counts."""
        return True

    async def upsert(self, namespace: str, records: Sequence[VectorRecord]) -> int:
        """Write records in one statement, overwriting same ids."""
        if not records:
            return 0
        await self._pool.execute(
            f"""
            INSERT INTO {self._table} (namespace, id, document_id, content, metadata, embedding)
            SELECT $1, r.id, r.document_id, r.content, r.metadata::jsonb, r.embedding
            FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::vector[])
                AS r(id, document_id, content, metadata, embedding)
            ON CONFLICT (namespace, id) DO UPDATE SET
                document_id = EXCLUDED.document_id, content = EXCLUDED.content,
                metadata = EXCLUDED.metadata, embedding = EXCLUDED.embedding, updated_at = now()
            """,  # noqa: S608 - the table name is derived from settings, never from input
            namespace,
            [record.id for record in records],
            [record.document_id for record in records],
            [record.text for record in records],
            [json.dumps(record.metadata) for record in records],
            # Wrapped: asyncpg would read a bare ndarray inside vector[] as a nested array.
            [Vector(record.vector) for record in records],
        )
        return len(records)

    async def delete_ids(self, namespace: str, ids: Sequence[str]) -> int:
        """Remove these ids from the namespace."""
        sql = f"DELETE FROM {self._table} WHERE namespace = $1 AND id = ANY($2::text[])"  # noqa: S608
        return _row_count(await self._pool.execute(sql, namespace, list(ids)))

    async def delete_document(self, namespace: str, document_id: str) -> int:
        """Remove one document's passages."""
        sql = f"DELETE FROM {self._table} WHERE namespace = $1 AND document_id = $2"  # noqa: S608
        return _row_count(await self._pool.execute(sql, namespace, document_id))

    async def delete_all(self, namespace: str) -> int:
        """Remove the namespace."""
        sql = f"DELETE FROM {self._table} WHERE namespace = $1"  # noqa: S608
        return _row_count(await self._pool.execute(sql, namespace))

    async def vector_search(
        self, namespace: str, vector: Matrix, *, top_k: int, document_ids: Sequence[str] | None
    ) -> list[StoredMatch]:
        """HNSW nearest neighbours inside the namespace (and documents), best first."""
        rows = await self._pool.fetch(
            self._vector_sql, vector, namespace, _ids(document_ids), top_k
        )
        matches = [_match(row, similarity=True) for row in rows]
        # relaxed_order may return rows slightly out of order.
        matches.sort(key=lambda match: -match.score)
        return matches

    async def keyword_search(
        self, namespace: str, query: str, *, top_k: int, document_ids: Sequence[str] | None
    ) -> list[StoredMatch]:
        """Full-text matches of any of the query's words or codes, ranked by ``ts_rank``.

        Prose is matched with the 'english' configuration (stems, no stopwords). Codes of the
        query (ZK-4471, HTTP/2, v1.2.3, 4471) are matched part by part against the 'simple'
        index of the words split at every non-alphanumeric character, so "4471" finds
        "ZK-4471", and a passage holding the code in full ranks above one sharing only a part.
        """
        terms = _QUERY_WORD.findall(query)[:_MAX_QUERY_WORDS]
        if not terms:
            return []
        rows = await self._pool.fetch(
            self._keyword_sql,
            " or ".join(terms),
            namespace,
            _ids(document_ids),
            top_k,
            self._keyword_candidates,
            *_code_queries(query),
        )
        return [_match(row) for row in rows]

    async def aclose(self) -> None:
        """The pool belongs to the app's lifespan."""


def _code_queries(query: str) -> tuple[str | None, str | None]:
    """tsquery texts for the codes of the query: any of their parts, and any code in full.

    ``ZK-4471`` gives ``zk | 4471`` and ``(zk <-> 4471)``; None when the query has no code.
    Built from alphanumeric parts only, so nothing in them is tsquery syntax from the user.
    """
    codes = [
        [part.lower() for part in _QUERY_WORD.findall(code)]
        for code in _CODE.findall(query)[:_MAX_CODES]
    ]
    codes = [parts for parts in codes if parts]
    if not codes:
        return None, None
    words = " | ".join(dict.fromkeys(part for parts in codes for part in parts))
    phrases = " | ".join("(" + " <-> ".join(parts) + ")" for parts in codes)
    return words, phrases


def _ids(document_ids: Sequence[str] | None) -> list[str] | None:
    return None if document_ids is None else list(document_ids)


def _match(row: asyncpg.Record, *, similarity: bool = False) -> StoredMatch:
    """A row as a match; ``similarity``: the score is the vector search's cosine similarity."""
    metadata: Any = row["metadata"]
    score = float(row["score"])
    return StoredMatch(
        id=row["id"],
        document_id=row["document_id"],
        text=row["content"],
        score=score,
        metadata=json.loads(metadata) if isinstance(metadata, str) else dict(metadata),
        similarity=score if similarity else None,
    )


def _row_count(status: str) -> int:
    """``DELETE 3`` → 3."""
    return int(status.rsplit(" ", 1)[-1])
