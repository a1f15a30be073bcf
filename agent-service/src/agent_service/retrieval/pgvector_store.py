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

__all__ = ["PgVectorStore", "ensure_schema", "table_name_for"]

_MAX_QUERY_WORDS = 64
_QUERY_WORD = re.compile(r"[^\W_]+")
# A code: alphanumeric parts joined by separators (ZK-4471, HTTP/2, v1.2.3), or a word with a digit.
_CODE = re.compile(r"[^\W_]+(?:[-/.:][^\W_]+)+|[^\W_]*\d[^\W_]*")
_MAX_CODES = 8


def table_name_for(model: str, dimensions: int) -> str:
    """One table per embedding model: vectors of different models are not comparable."""
    slug = re.sub(r"[^a-z0-9]+", "_", model.lower()).strip("_")
    if not slug.endswith(f"_{dimensions}"):
        slug = f"{slug}_{dimensions}"
    return f"passages_{slug}"[:63]


async def ensure_schema(connection: asyncpg.Connection, *, table: str, dimensions: int) -> None:
    """Bring ``table`` to the latest schema version (see ``retrieval.schema``)."""
    await migrate_passages_table(connection, table=table, dimensions=dimensions)


class PgVectorStore:
    """The default store. Upsert is ``INSERT … ON CONFLICT (namespace, id) DO UPDATE``."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        table: str,
        ef_search: int = 100,
        keyword_candidates: int = 1_000,
    ) -> None:
        self._pool = pool
        self._table = table
        self._ef_search = ef_search
        self._keyword_candidates = keyword_candidates

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
        sql = f"""
            SELECT id, document_id, content, metadata, 1 - (embedding <=> $1) AS score
            FROM {self._table}
            WHERE namespace = $2 AND ($3::text[] IS NULL OR document_id = ANY($3::text[]))
            ORDER BY embedding <=> $1
            LIMIT $4
        """  # noqa: S608
        async with self._pool.acquire() as connection:
            # Session settings in one round trip, no transaction around them: the pool resets
            # every connection it takes back (RESET ALL), and each round trip is felt by a query
            # that itself takes a fraction of a millisecond in a small namespace.
            # The namespace filter is applied after the index scan: without iterative scans a
            # namespace sharing its partition's graph would get fewer than top_k rows back.
            # A custom plan per query lets the planner see the partition and the namespace's
            # size there (a generic plan picks one strategy, exact or HNSW, for every size).
            await connection.execute(
                "SET hnsw.iterative_scan = relaxed_order;"
                f" SET hnsw.ef_search = {int(self._ef_search)};"
                " SET plan_cache_mode = force_custom_plan"
            )
            rows = await connection.fetch(sql, vector, namespace, _ids(document_ids), top_k)
        # relaxed_order may return rows slightly out of order.
        return sorted((_match(row) for row in rows), key=lambda match: -match.score)

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
        # websearch_to_tsquery never raises on user input; 'or' makes any word enough to match.
        # Ranking reads every matching row, and in a large namespace a common word matches most
        # of them: rank at most keyword_candidates matches (the vector half still sees them all).
        sql = f"""
            WITH q AS (
                SELECT websearch_to_tsquery('english', $1) AS prose,
                    to_tsquery('simple', $6) AS code_words,
                    to_tsquery('simple', $7) AS codes
            ), matches AS (
                SELECT id, document_id, content, metadata, content_tsv, code_tsv
                FROM {self._table}, q
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
        """  # noqa: S608
        rows = await self._pool.fetch(
            sql,
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


def _match(row: asyncpg.Record) -> StoredMatch:
    metadata: Any = row["metadata"]
    return StoredMatch(
        id=row["id"],
        document_id=row["document_id"],
        text=row["content"],
        score=float(row["score"]),
        metadata=json.loads(metadata) if isinstance(metadata, str) else dict(metadata),
    )


def _row_count(status: str) -> int:
    """``DELETE 3`` → 3."""
    return int(status.rsplit(" ", 1)[-1])
