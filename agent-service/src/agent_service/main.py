"""The agent FastAPI application and its lifespan."""

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import httpx
import structlog
from fastapi import FastAPI
from opentelemetry.sdk.trace import TracerProvider

from agent_service import __version__
from agent_service.config import Settings, VectorStoreKind, get_settings
from agent_service.mcp_server import mount_mcp
from agent_service.observability.metrics import HTTP_METRICS, metrics_endpoint
from agent_service.routing.chat import router as chat_router
from agent_service.routing.embeddings import router as embeddings_router
from agent_service.routing.health import router as health_router
from agent_service.routing.index import router as index_router
from agent_service.routing.retrieval import router as retrieval_router
from agent_service.runtime import build_embedder, build_runtime, open_vector_pool
from chatsphere_kit.app import install_infrastructure
from chatsphere_kit.gc_tuning import tuned_garbage_collector
from chatsphere_kit.logging import configure_logging
from chatsphere_kit.observability import FASTAPI_NATIVE_TELEMETRY
from chatsphere_kit.observability.tracing import spans_flushed_at_exit, tracing_httpx_calls

__all__ = ["create_app"]

_log = structlog.get_logger(__name__)


def create_app(
    settings: Settings | None = None, *, model_transport: httpx.AsyncBaseTransport | None = None
) -> FastAPI:
    """Build the app; the vector database pool is opened when it starts. ``model_transport``
    replaces the connection pool to an OpenAI-compatible model (tests answer through it)."""
    settings = settings or get_settings()
    configure_logging(level=settings.log_level, json_output=settings.log_json)
    tracer_provider: TracerProvider | None = None
    mcp_sessions: Callable[[], AbstractAsyncContextManager[None]] | None = None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with spans_flushed_at_exit(tracer_provider), tracing_httpx_calls(tracer_provider):
            embedder = build_embedder(settings)
            # Pinecone needs no database; pgvector (the default) does.
            needs_pool = settings.vector_store is VectorStoreKind.PGVECTOR or settings.database_url
            app.state.pool = await open_vector_pool(settings, embedder) if needs_pool else None
            app.state.runtime = build_runtime(
                settings, embedder, app.state.pool, model_transport=model_transport
            )
            _log.info("agent_started", environment=settings.environment.value)
            try:
                assert mcp_sessions is not None  # noqa: S101 - set below, before the app starts
                async with mcp_sessions():
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
    app.include_router(health_router)
    for router in (embeddings_router, index_router, retrieval_router, chat_router):
        app.include_router(router)
    mcp_sessions = mount_mcp(app)
    tracer_provider = install_infrastructure(
        app,
        settings,
        version=__version__,
        access_logger="agent_service.access",
        http_metrics=HTTP_METRICS,
        metrics_endpoint=metrics_endpoint,
    )
    return app
