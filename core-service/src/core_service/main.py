"""The core FastAPI application and its lifespan."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import structlog
from fastapi import FastAPI

from core_service import __version__
from core_service.agent_client.client import create_agent_client
from core_service.api import include_api_routers
from core_service.auth.tokens import VerifiedTokens
from core_service.config import Settings, get_settings
from core_service.database import (
    create_engine,
    create_read_sessionmaker,
    create_sessionmaker,
)
from core_service.errors import install_error_handlers
from core_service.gc_tuning import tuned_garbage_collector
from core_service.health.router import router as health_router
from core_service.logging import configure_logging
from core_service.middleware import BodySizeLimitMiddleware, RequestContextMiddleware
from core_service.observability import FASTAPI_NATIVE_TELEMETRY, install_observability

__all__ = ["create_app"]

_log = structlog.get_logger(__name__)


def create_app(
    settings: Settings | None = None, *, agent_transport: httpx.AsyncBaseTransport | None = None
) -> FastAPI:
    """Build the app; the engine and the agent client live from start-up to shutdown.

    ``agent_transport`` replaces the network under the agent client (tests serve the agent
    in-process with it).
    """
    settings = settings or get_settings()
    configure_logging(level=settings.log_level, json_output=settings.log_json)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings)
        app.state.engine = engine
        app.state.sessionmaker = create_sessionmaker(engine)
        app.state.read_sessionmaker = create_read_sessionmaker(engine)
        app.state.verified_tokens = VerifiedTokens()
        agent_client = create_agent_client(settings, transport=agent_transport)
        app.state.agent_client = agent_client
        app.state.agent_http = agent_client.http
        _log.info("core_started", environment=settings.environment.value)
        try:
            with tuned_garbage_collector(enabled=settings.gc_tuning):
                yield
        finally:
            await agent_client.aclose()
            await engine.dispose()
            _log.info("core_stopped")

    app = FastAPI(
        title="ChatSphere core API",
        version=__version__,
        lifespan=lifespan,
        telemetry=FASTAPI_NATIVE_TELEMETRY,
    )
    app.state.settings = settings
    install_error_handlers(app)
    app.include_router(health_router)
    include_api_routers(app)
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=settings.max_request_body_bytes,
        max_multipart_bytes=settings.max_upload_body_bytes,
    )
    app.add_middleware(RequestContextMiddleware)
    install_observability(app, settings)
    return app
