"""The core FastAPI application and its lifespan."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import structlog
from fastapi import FastAPI
from opentelemetry.sdk.trace import TracerProvider

from chatsphere_kit.app import install_infrastructure
from chatsphere_kit.gc_tuning import tuned_garbage_collector
from chatsphere_kit.logging import configure_logging
from chatsphere_kit.observability import FASTAPI_NATIVE_TELEMETRY
from chatsphere_kit.observability.tracing import spans_flushed_at_exit, trace_httpx_client
from chatsphere_kit.routes import route_table
from core_service import __version__
from core_service.agent_client.client import create_agent_client
from core_service.api import API_PREFIX, include_api_routers
from core_service.auth.tokens import VerifiedTokens
from core_service.config import Settings, get_settings
from core_service.database import (
    create_engine,
    create_read_sessionmaker,
    create_sessionmaker,
)
from core_service.errors import install_database_error_handlers
from core_service.health.router import router as health_router
from core_service.observability.metrics import HTTP_METRICS, metrics_endpoint
from core_service.openai_compat.errors import OpenAIErrorMiddleware
from core_service.openai_compat.router import OPENAI_PREFIX
from core_service.public.cors import PublicCorsMiddleware
from core_service.widget.router import router as widget_router

__all__ = ["create_app"]

_log = structlog.get_logger(__name__)

# The only routes whose bodies may be as large as CORE_MAX_UPLOAD_BODY_BYTES; every other route
# (and every unknown path) takes CORE_MAX_REQUEST_BODY_BYTES, whatever the Content-Type says.
UPLOAD_ROUTES = (("POST", "/api/v1/bots/{bot_id}/documents"),)


def create_app(
    settings: Settings | None = None, *, agent_transport: httpx.AsyncBaseTransport | None = None
) -> FastAPI:
    """Build the app; the engine and the agent client live from start-up to shutdown.

    ``agent_transport`` replaces the network under the agent client (tests serve the agent
    in-process with it).
    """
    settings = settings or get_settings()
    configure_logging(level=settings.log_level, json_output=settings.log_json)
    tracer_provider: TracerProvider | None = None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with spans_flushed_at_exit(tracer_provider):
            engine = create_engine(settings)
            app.state.engine = engine
            app.state.sessionmaker = create_sessionmaker(engine)
            app.state.read_sessionmaker = create_read_sessionmaker(engine)
            app.state.verified_tokens = VerifiedTokens()
            agent_client = create_agent_client(settings, transport=agent_transport)
            app.state.agent_client = agent_client
            app.state.agent_http = agent_client.http
            # The client itself is traced: it runs over aiohttp's transport, which the
            # process-wide httpx instrumentation does not reach.
            trace_httpx_client(agent_client.http, tracer_provider)
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
    app.include_router(health_router)
    include_api_routers(app)
    app.include_router(widget_router)
    tracer_provider = install_infrastructure(
        app,
        settings,
        version=__version__,
        access_logger="core_service.access",
        http_metrics=HTTP_METRICS,
        metrics_endpoint=metrics_endpoint,
        large_body_routes=_upload_caps(app, settings),
    )
    install_database_error_handlers(app)
    # Outside every handler and limit, so that each error of the path reaches OpenAI's clients
    # in the shape their SDKs read.
    app.add_middleware(OpenAIErrorMiddleware, prefix=API_PREFIX + OPENAI_PREFIX)
    # Added last, so outermost: every public answer, errors included, gets its CORS headers.
    app.add_middleware(PublicCorsMiddleware)
    return app


def _upload_caps(app: FastAPI, settings: Settings) -> dict[tuple[str, str], int]:
    """The upload routes' cap; a renamed upload route fails here, at start-up."""
    known = set(route_table(app.routes).templates.values())
    missing = [template for _, template in UPLOAD_ROUTES if template not in known]
    if missing:
        raise RuntimeError(f"upload routes not found: {missing}")
    return dict.fromkeys(UPLOAD_ROUTES, settings.max_upload_body_bytes)
