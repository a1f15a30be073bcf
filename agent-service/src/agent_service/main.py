"""The agent FastAPI application and its lifespan."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI

from agent_service import __version__
from agent_service.config import Settings, VectorStoreKind, get_settings
from agent_service.errors import install_error_handlers
from agent_service.gc_tuning import tuned_garbage_collector
from agent_service.logging import configure_logging
from agent_service.middleware import BodySizeLimitMiddleware, RequestContextMiddleware
from agent_service.observability import FASTAPI_NATIVE_TELEMETRY, install_observability
from agent_service.routing.chat import router as chat_router
from agent_service.routing.embeddings import router as embeddings_router
from agent_service.routing.health import router as health_router
from agent_service.routing.index import router as index_router
from agent_service.routing.retrieval import router as retrieval_router
from agent_service.runtime import build_embedder, build_runtime, open_vector_pool

__all__ = ["create_app"]

_log = structlog.get_logger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; the vector database pool is opened when it starts."""
    settings = settings or get_settings()
    configure_logging(level=settings.log_level, json_output=settings.log_json)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        embedder = build_embedder(settings)
        # Pinecone needs no database; pgvector (the default) does.
        needs_pool = settings.vector_store is VectorStoreKind.PGVECTOR or settings.database_url
        app.state.pool = await open_vector_pool(settings, embedder) if needs_pool else None
        app.state.runtime = build_runtime(settings, embedder, app.state.pool)
        _log.info("agent_started", environment=settings.environment.value)
        try:
            with tuned_garbage_collector(enabled=settings.gc_tuning):
                yield
        finally:
            await app.state.runtime.aclose()
            if app.state.pool is not None:
                await app.state.pool.close()
            _log.info("agent_stopped")

    app = FastAPI(
        title="ChatSphere agent API",
        version=__version__,
        lifespan=lifespan,
        telemetry=FASTAPI_NATIVE_TELEMETRY,
    )
    app.state.settings = settings
    app.state.pool = None
    install_error_handlers(app)
    app.include_router(health_router)
    for router in (embeddings_router, index_router, retrieval_router, chat_router):
        app.include_router(router)
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=settings.max_request_body_bytes,
        max_multipart_bytes=settings.max_request_body_bytes,
    )
    app.add_middleware(RequestContextMiddleware)
    install_observability(app, settings)
    return app
