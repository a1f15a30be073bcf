"""Everything a request needs, built once at start-up: embedder, vector store, retriever."""

from dataclasses import dataclass

import asyncpg
from pgvector.asyncpg import register_vector

from agent_service.config import EmbedderKind, Settings, VectorStoreKind
from agent_service.database import plain_dsn
from agent_service.ingestion.embedders import Embedder, HashEmbedder
from agent_service.retrieval.hybrid import Retriever
from agent_service.retrieval.pgvector_store import PgVectorStore, ensure_schema, table_name_for
from agent_service.retrieval.store import VectorStore

__all__ = ["AgentRuntime", "build_embedder", "build_runtime", "open_vector_pool"]


@dataclass(frozen=True, slots=True)
class AgentRuntime:
    """The stateless parts every request shares."""

    settings: Settings
    embedder: Embedder
    store: VectorStore
    retriever: Retriever

    async def aclose(self) -> None:
        """Close provider clients (the database pool is closed by the lifespan)."""
        await self.store.aclose()
        await self.embedder.aclose()


def build_embedder(settings: Settings) -> Embedder:
    """The embedder chosen by ``AGENT_EMBEDDER``."""
    if settings.embedder is EmbedderKind.HASH:
        return HashEmbedder(settings.hash_dimensions)
    raise NotImplementedError(settings.embedder)


async def open_vector_pool(settings: Settings, embedder: Embedder) -> asyncpg.Pool:
    """Create the vector schema if needed, then a pool whose connections speak ``vector``."""
    if settings.database_url is None:
        raise RuntimeError("AGENT_DATABASE_URL is not set; start the platform with `make run`")
    dsn = plain_dsn(settings.database_url)
    # The codec needs the extension, so the schema comes first, on its own connection.
    connection = await asyncpg.connect(dsn)
    try:
        await ensure_schema(
            connection,
            table=table_name_for(embedder.model, embedder.dimensions),
            dimensions=embedder.dimensions,
        )
    finally:
        await connection.close()
    return await asyncpg.create_pool(
        dsn,
        min_size=settings.database_pool_min_size,
        max_size=settings.database_pool_max_size,
        server_settings={"application_name": settings.service_name},
        init=register_vector,
    )


def build_runtime(
    settings: Settings, embedder: Embedder, pool: asyncpg.Pool | None
) -> AgentRuntime:
    """Wire the store and retriever around the embedder."""
    store = _build_store(settings, embedder, pool)
    retriever = Retriever(
        embedder=embedder,
        store=store,
        hybrid=settings.hybrid_search,
        candidates=settings.hybrid_candidates,
        rrf_k=settings.rrf_k,
    )
    return AgentRuntime(settings=settings, embedder=embedder, store=store, retriever=retriever)


def _build_store(settings: Settings, embedder: Embedder, pool: asyncpg.Pool | None) -> VectorStore:
    if settings.vector_store is VectorStoreKind.PGVECTOR:
        if pool is None:
            raise RuntimeError("the pgvector store needs AGENT_DATABASE_URL")
        table = table_name_for(embedder.model, embedder.dimensions)
        return PgVectorStore(pool, table=table, ef_search=settings.hnsw_ef_search)
    raise NotImplementedError(settings.vector_store)
