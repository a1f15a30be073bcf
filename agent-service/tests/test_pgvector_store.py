"""The pgvector store passes the store contract, and its full-text search works."""

import asyncio
import uuid

import asyncpg
import numpy as np

from agent_service.config import Settings
from agent_service.database import create_pool, plain_dsn
from agent_service.ingestion.embedders import HashEmbedder
from agent_service.retrieval.hybrid import Retriever
from agent_service.retrieval.pgvector_store import PgVectorStore, ensure_schema, table_name_for
from agent_service.retrieval.store import VectorRecord
from testsupport.postgres import PostgresServer


def records(document_id: str, texts: list[str]) -> list[VectorRecord]:
    vector = np.full(256, 1 / 16, dtype=np.float32)
    return [
        VectorRecord(id=str(uuid.uuid4()), document_id=document_id, text=text, vector=vector)
        for text in texts
    ]


async def test_keyword_search_matches_any_word_and_stays_in_its_namespace(
    pgvector_store: PgVectorStore,
) -> None:
    store = pgvector_store
    namespace, other = f"bot-{uuid.uuid4()}", f"bot-{uuid.uuid4()}"
    written = records("doc-1", ["Invoices are sent monthly.", "The cat sleeps."])
    await store.upsert(namespace, written)
    await store.upsert(other, records("doc-1", ["Invoices everywhere"]))
    matches = await store.keyword_search(
        namespace, "when are my invoices sent?", top_k=5, document_ids=None
    )
    assert [match.id for match in matches] == [written[0].id]
    assert await store.keyword_search(namespace, "'); DROP --", top_k=5, document_ids=None) == []


async def test_keyword_ranking_is_bounded_in_large_namespaces(
    pgvector_store: PgVectorStore, pgvector_pool: asyncpg.Pool
) -> None:
    namespace = f"bot-{uuid.uuid4()}"
    await pgvector_store.upsert(
        namespace, records("doc-1", [f"invoice number {n}" for n in range(30)])
    )
    table = table_name_for("store-tests", 256)  # the table of the pgvector_store fixture
    bounded = PgVectorStore(pgvector_pool, table=table, keyword_candidates=10)
    found = await pgvector_store.keyword_search(namespace, "invoice", top_k=20, document_ids=None)
    capped = await bounded.keyword_search(namespace, "invoice", top_k=20, document_ids=None)
    assert len(found) == 20
    assert len(capped) == 10


async def test_a_vector_search_is_one_statement_on_a_connection_set_up_for_it(
    agent_settings: Settings, pgvector_store: PgVectorStore
) -> None:
    settings = agent_settings.model_copy(
        update={"database_pool_min_size": 1, "database_pool_max_size": 1, "hnsw_ef_search": 77}
    )
    pool = await create_pool(settings)
    statements: list[str] = []
    try:
        async with pool.acquire() as connection:  # the pool's only connection
            connection.add_query_logger(lambda query: statements.append(query.query))
        statements.clear()
        store = PgVectorStore(pool, table=table_name_for("store-tests", 256))
        vector = np.full(256, 1 / 16, dtype=np.float32)
        await store.vector_search(f"bot-{uuid.uuid4()}", vector, top_k=5, document_ids=None)
        assert len(statements) == 1, statements
        in_force = await pool.fetchrow(
            "SELECT current_setting('hnsw.ef_search'), current_setting('hnsw.iterative_scan'),"
            " current_setting('plan_cache_mode')"
        )
    finally:
        await pool.close()
    assert tuple(in_force or ()) == ("77", "relaxed_order", "force_custom_plan")


async def test_hybrid_search_runs_its_two_searches_at_once(
    pgvector_store: PgVectorStore, pgvector_pool: asyncpg.Pool, agent_database_url: str
) -> None:
    retriever = Retriever(embedder=HashEmbedder(256), store=pgvector_store)
    table = table_name_for("store-tests", 256)
    # Two connections open beforehand: a connection starting behind the lock would wait too.
    async with pgvector_pool.acquire(), pgvector_pool.acquire():
        pass
    locker = await asyncpg.connect(plain_dsn(agent_database_url))
    waiting = 0
    try:
        async with locker.transaction():
            # Both searches queue behind this lock only if both were sent before either ended.
            await locker.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
            search = asyncio.create_task(
                retriever.retrieve(f"bot-{uuid.uuid4()}", "invoices sent monthly", top_k=5)
            )
            for _ in range(100):
                waiting = await locker.fetchval(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE wait_event_type = 'Lock' AND datname = current_database()"
                )
                if waiting == 2:
                    break
                await asyncio.sleep(0.05)
        assert await search == []
    finally:
        await locker.close()
    assert waiting == 2


def test_table_names_are_safe_identifiers() -> None:
    assert table_name_for("models/gemini-embedding-001", 768) == (
        "passages_models_gemini_embedding_001_768"
    )


async def test_replicas_starting_together_create_the_schema_once(
    postgres_server: PostgresServer,
) -> None:
    name = await postgres_server.create_database("agent_schema")
    try:
        connections = [await asyncpg.connect(postgres_server.url_for(name)) for _ in range(3)]
        table = table_name_for("hash-64", 64)
        await asyncio.gather(*(ensure_schema(c, table=table, dimensions=64) for c in connections))
        indexes = await connections[0].fetch(
            "SELECT indexdef FROM pg_indexes WHERE tablename = $1 ORDER BY indexname", table
        )
        for connection in connections:
            await connection.close()
    finally:
        await postgres_server.drop_database(name)
    definitions = " ".join(row["indexdef"] for row in indexes)
    assert "USING hnsw (embedding vector_cosine_ops)" in definitions
    assert "USING gin (content_tsv)" in definitions


def clustered(rng: np.random.Generator, centres: np.ndarray, count: int) -> list[VectorRecord]:
    """Passages around a few centres, as real embeddings of a bot's topics are."""
    vectors = centres[rng.integers(0, len(centres), count)] + rng.normal(0, 0.3, (count, 256))
    return [
        VectorRecord(
            id=f"c{n}", document_id=f"d{n // 20}", text=f"passage {n}", vector=vector.astype("f4")
        )
        for n, vector in enumerate(vectors)
    ]


def exact_top(written: list[VectorRecord], query: np.ndarray, k: int) -> set[str]:
    matrix = np.stack([record.vector for record in written])
    cosine = matrix @ query / (np.linalg.norm(matrix, axis=1) * np.linalg.norm(query))
    return {written[n].id for n in np.argsort(-cosine)[:k]}


async def test_small_and_large_namespaces_get_their_nearest_passages_from_one_partition(
    pgvector_store: PgVectorStore, pgvector_pool: asyncpg.Pool
) -> None:
    rng = np.random.default_rng(23)
    centres = rng.normal(0, 1, (12, 256))
    table = table_name_for("store-tests", 256)
    small, large = f"bot-{uuid.uuid4()}", f"bot-{uuid.uuid4()}"
    by_namespace = {small: clustered(rng, centres, 20), large: clustered(rng, centres, 3_000)}
    for namespace, written in by_namespace.items():
        for first in range(0, len(written), 500):
            await pgvector_store.upsert(namespace, written[first : first + 500])
    await pgvector_pool.execute(f"ANALYZE {table}")
    for namespace, written in by_namespace.items():
        queries = centres[:5] + rng.normal(0, 0.3, (5, 256))
        hits = 0
        for query in queries.astype("f4"):
            found = await pgvector_store.vector_search(
                namespace, query, top_k=10, document_ids=None
            )
            hits += len({match.id for match in found} & exact_top(written, query, 10))
        assert hits / 50 >= 0.95
        plan = await pgvector_pool.fetch(
            f"EXPLAIN SELECT id FROM {table} WHERE namespace = $1"  # noqa: S608
            " ORDER BY embedding <=> $2 LIMIT 10",
            namespace,
            queries[0].astype("f4"),
        )
        scanned = [row[0] for row in plan if f" on {table}_p" in row[0]]
        assert len(scanned) == 1, plan
