"""OpenTelemetry tracing, on only when ``<PREFIX>_OTEL_EXPORTER_OTLP_ENDPOINT`` is set.

Incoming ``traceparent`` headers are honoured, spans go to an OTLP/HTTP collector, outgoing httpx
calls carry ``traceparent``, and log lines of a traced request carry its trace id.
"""

from collections.abc import Iterator
from contextlib import contextmanager

import httpx
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
from starlette.types import ASGIApp, Receive, Scope, Send

from chatsphere_kit.settings import ServiceSettings

__all__ = [
    "TraceLogContextMiddleware",
    "configure_tracing",
    "spans_flushed_at_exit",
    "trace_httpx_client",
    "tracing_httpx_calls",
]

# Probes and scrapes arrive every few seconds and would drown the traces that matter.
UNTRACED_URLS = "healthz,readyz,metrics"


def configure_tracing(
    app: FastAPI, settings: ServiceSettings, *, version: str
) -> TracerProvider | None:
    """Trace the app's requests when an exporter is configured; the provider, or None.

    The caller shuts the provider down when the app stops (its lifespan), so that the last
    spans are flushed.
    """
    if not settings.otel_exporter_otlp_endpoint:
        return None
    endpoint = str(settings.otel_exporter_otlp_endpoint).rstrip("/")
    provider = TracerProvider(
        resource=Resource.create(
            {"service.name": settings.service_name, "service.version": version}
        ),
        sampler=ParentBased(TraceIdRatioBased(settings.otel_sample_ratio)),
    )
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(f"{endpoint}/v1/traces")))
    FastAPIInstrumentor.instrument_app(app, tracer_provider=provider, excluded_urls=UNTRACED_URLS)
    return provider


def trace_httpx_client(client: httpx.AsyncClient, provider: TracerProvider | None) -> None:
    """Trace the calls of one client (whatever transport it runs over)."""
    if provider is not None:
        HTTPXClientInstrumentor.instrument_client(client, tracer_provider=provider)


@contextmanager
def spans_flushed_at_exit(provider: TracerProvider | None) -> Iterator[None]:
    """Shut the provider down when the block ends, so that the last spans are exported."""
    try:
        yield
    finally:
        if provider is not None:
            provider.shutdown()


@contextmanager
def tracing_httpx_calls(provider: TracerProvider | None) -> Iterator[None]:
    """Trace every httpx call of the process while the block runs.

    httpx instrumentation is process-wide, so it lives exactly as long as the app runs.
    """
    if provider is None:
        yield
        return
    instrumentor = HTTPXClientInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        yield
    finally:
        instrumentor.uninstrument()


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
