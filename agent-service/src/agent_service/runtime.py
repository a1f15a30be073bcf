"""Everything a request needs, built once at start-up: embedder, vector store, retriever."""

from dataclasses import dataclass

import asyncpg
import httpx

from agent_service.config import EMBEDDER_MIN_SIMILARITY, EmbedderKind, Settings, VectorStoreKind
from agent_service.database import create_pool
from agent_service.generation.chat_models import ChatModelFactory
from agent_service.ingestion.embedders import Embedder, HashEmbedder
from agent_service.ingestion.gemini import GeminiEmbedder
from agent_service.ingestion.retry import CallPolicy
from agent_service.observability.instrumentation import instrument_embedder
from agent_service.retrieval.hybrid import Retriever
from agent_service.retrieval.pgvector_store import PgVectorStore, ensure_schema, table_name_for
from agent_service.retrieval.pinecone_store import PineconeStore
from agent_service.retrieval.store import VectorStore

__all__ = ["AgentRuntime", "build_embedder", "build_runtime", "open_vector_pool"]


@dataclass(frozen=True, slots=True)
class AgentRuntime:
    """The stateless parts every request shares."""

    settings: Settings
    embedder: Embedder
    store: VectorStore
    retriever: Retriever
    chat_models: ChatModelFactory

    async def aclose(self) -> None:
        """Close provider clients (the database pool is closed by the lifespan)."""
        await self.store.aclose()
        await self.embedder.aclose()
        await self.chat_models.aclose()


def build_embedder(settings: Settings) -> Embedder:
    """The embedder chosen by ``AGENT_EMBEDDER``, timed for ``/metrics``."""
    return instrument_embedder(_provider_embedder(settings), settings.embedder.value)


def _provider_embedder(settings: Settings) -> Embedder:
    if settings.embedder is EmbedderKind.GEMINI:
        assert settings.google_api_key is not None  # noqa: S101 - checked by Settings
        return GeminiEmbedder(
            api_key=settings.google_api_key,
            model=settings.gemini_embedding_model,
            dimensions=settings.gemini_embedding_dimensions,
            policy=CallPolicy.from_settings(settings),
            batch_size=settings.embedding_batch_size,
            base_url=settings.gemini_base_url,
            concurrency=settings.embedding_concurrency,
        )
    if settings.embedder is EmbedderKind.STATIC:
        # Imported when chosen: the other embedders' start-up does not pay for model2vec.
        from agent_service.ingestion.static import StaticEmbedder  # noqa: PLC0415

        return StaticEmbedder()
    if settings.embedder is EmbedderKind.LOCAL:
        from agent_service.ingestion.local import LocalEmbedder  # noqa: PLC0415 - optional extra

        return LocalEmbedder(settings.local_embedding_model)
    return HashEmbedder(settings.hash_dimensions)


async def open_vector_pool(settings: Settings, embedder: Embedder) -> asyncpg.Pool:
    """The pgvector pool, once the embedder's passages table has every schema migration."""
    table = table_name_for(embedder.model, embedder.dimensions)

    async def prepare(connection: asyncpg.Connection) -> None:
        await ensure_schema(connection, table=table, dimensions=embedder.dimensions)

    return await create_pool(settings, prepare=prepare)


def build_runtime(
    settings: Settings,
    embedder: Embedder,
    pool: asyncpg.Pool | None,
    *,
    model_transport: httpx.AsyncBaseTransport | None = None,
) -> AgentRuntime:
    """Wire the store and retriever around the embedder; ``model_transport`` replaces the
    connection pool to an OpenAI-compatible model (tests answer through it)."""
    store = _build_store(settings, embedder, pool)
    retriever = Retriever(
        embedder=embedder,
        store=store,
        hybrid=settings.hybrid_search,
        candidates=settings.hybrid_candidates,
        rrf_k=settings.rrf_k,
        vector_weight=settings.hybrid_vector_weight,
        min_similarity=_min_similarity(settings),
    )
    return AgentRuntime(
        settings=settings,
        embedder=embedder,
        store=store,
        retriever=retriever,
        chat_models=ChatModelFactory(settings, transport=model_transport),
    )


def _min_similarity(settings: Settings) -> float:
    if settings.min_relevant_similarity is not None:
        return settings.min_relevant_similarity
    return EMBEDDER_MIN_SIMILARITY[settings.embedder]


def _build_store(settings: Settings, embedder: Embedder, pool: asyncpg.Pool | None) -> VectorStore:
    if settings.vector_store is VectorStoreKind.PGVECTOR:
        if pool is None:
            raise RuntimeError("the pgvector store needs AGENT_DATABASE_URL")
        table = table_name_for(embedder.model, embedder.dimensions)
        return PgVectorStore(pool, table=table, keyword_candidates=settings.keyword_candidates)
    return _pinecone_store(settings)


def _pinecone_store(settings: Settings) -> VectorStore:
    from pinecone import AsyncIndex  # noqa: PLC0415 - only loaded when configured

    assert settings.pinecone_api_key is not None  # noqa: S101 - checked by Settings
    assert settings.pinecone_index_host is not None  # noqa: S101
    index = AsyncIndex(
        host=settings.pinecone_index_host,
        api_key=settings.pinecone_api_key.get_secret_value(),
        timeout=settings.provider_timeout_s,
    )
    # The SDK already retries 429/5xx itself; ours would multiply the attempts.
    policy = CallPolicy(timeout_s=settings.provider_timeout_s, max_retries=0, backoff_s=0.0)
    return PineconeStore(index, policy=policy)
