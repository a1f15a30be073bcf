"""The agent FastAPI application and its lifespan."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI

from agent_service import __version__
from agent_service.config import Settings, get_settings
from agent_service.database import create_pool
from agent_service.errors import install_error_handlers
from agent_service.logging import configure_logging
from agent_service.middleware import BodySizeLimitMiddleware, RequestContextMiddleware
from agent_service.observability import install_observability
from agent_service.routing.health import router as health_router

__all__ = ["create_app"]

_log = structlog.get_logger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; the vector database pool is opened when it starts."""
    settings = settings or get_settings()
    configure_logging(level=settings.log_level, json_output=settings.log_json)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.pool = await create_pool(settings)
        _log.info("agent_started", environment=settings.environment.value)
        try:
            yield
        finally:
            await app.state.pool.close()
            _log.info("agent_stopped")

    app = FastAPI(title="ChatSphere agent API", version=__version__, lifespan=lifespan)
    app.state.settings = settings
    app.state.pool = None
    install_error_handlers(app)
    app.include_router(health_router)
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=settings.max_request_body_bytes,
        max_multipart_bytes=settings.max_request_body_bytes,
    )
    app.add_middleware(RequestContextMiddleware)
    install_observability(app, settings)
    return app
