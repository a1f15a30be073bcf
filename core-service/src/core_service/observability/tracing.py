"""OpenTelemetry tracing, on only when ``CORE_OTEL_EXPORTER_OTLP_ENDPOINT`` is set.

Incoming ``traceparent`` headers are honoured, spans go to an OTLP/HTTP collector, outgoing calls
to the agent carry ``traceparent``, and log lines of a traced request carry its trace id.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Receive, Scope, Send

from core_service import __version__
from core_service.config import Settings

__all__ = ["TraceLogContextMiddleware", "configure_tracing", "tracing_enabled"]

# Probes and scrapes arrive every few seconds and would drown the traces that matter.
UNTRACED_URLS = "healthz,readyz,metrics"


def tracing_enabled(settings: Settings) -> bool:
    """Tracing is on exactly when an exporter endpoint is configured."""
    return bool(settings.otel_exporter_otlp_endpoint)


def configure_tracing(app: FastAPI, settings: Settings) -> None:
    """Trace the app's requests and its outgoing httpx calls; flush the spans when it stops."""
    endpoint = str(settings.otel_exporter_otlp_endpoint).rstrip("/")
    provider = TracerProvider(
        resource=Resource.create(
            {"service.name": settings.service_name, "service.version": __version__}
        ),
        sampler=ParentBased(TraceIdRatioBased(settings.otel_sample_ratio)),
    )
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(f"{endpoint}/v1/traces")))
    FastAPIInstrumentor.instrument_app(app, tracer_provider=provider, excluded_urls=UNTRACED_URLS)
    app.user_middleware.append(Middleware(TraceLogContextMiddleware))
    _instrument_agent_client_while_running(app, provider)


def _instrument_agent_client_while_running(app: FastAPI, provider: TracerProvider) -> None:
    """Trace the calls of the app's agent client (``app.state.agent_http``, made at start-up).

    The client itself is instrumented: the process-wide instrumentation only patches httpx's
    own transport, and the agent client runs over aiohttp's.
    """
    inner_lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            # The apps keep their resources on app.state, never in lifespan state.
            async with inner_lifespan(app):
                HTTPXClientInstrumentor.instrument_client(
                    app.state.agent_http, tracer_provider=provider
                )
                yield
        finally:
            provider.shutdown()

    app.router.lifespan_context = lifespan


class TraceLogContextMiddleware:
    """Adds the current trace and span ids to every log line of the request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        context = trace.get_current_span().get_span_context()
        if scope["type"] == "http" and context.is_valid:
            structlog.contextvars.bind_contextvars(
                trace_id=format(context.trace_id, "032x"), span_id=format(context.span_id, "016x")
            )
        await self.app(scope, receive, send)
