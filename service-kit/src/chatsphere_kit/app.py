"""One call wires the shared infrastructure into a service's app, in the right order."""

from collections.abc import Awaitable, Callable, Mapping

from fastapi import FastAPI
from opentelemetry.sdk.trace import TracerProvider
from starlette.requests import Request
from starlette.responses import Response

from chatsphere_kit.errors import install_error_handlers
from chatsphere_kit.middleware import (
    MAX_REQUEST_HEADER_BYTES,
    MAX_REQUEST_HEADERS,
    BodySizeLimitMiddleware,
    HeaderLimitMiddleware,
    RequestContextMiddleware,
)
from chatsphere_kit.observability.metrics import HttpMetrics, HttpMetricsMiddleware
from chatsphere_kit.observability.tracing import TraceLogContextMiddleware, configure_tracing
from chatsphere_kit.settings import ServiceSettings

__all__ = ["install_infrastructure"]

MetricsEndpoint = Callable[[Request], Awaitable[Response]]


def install_infrastructure(
    app: FastAPI,
    settings: ServiceSettings,
    *,
    version: str,
    access_logger: str,
    http_metrics: HttpMetrics,
    metrics_endpoint: MetricsEndpoint,
    large_body_routes: Mapping[tuple[str, str], int] | None = None,
) -> TracerProvider | None:
    """Error handlers, request middleware, ``/metrics`` and tracing; the tracer provider, if any.

    Middleware added later wraps what was added before, so the order below runs outside in as:
    metrics (so 413s, 431s and inner errors are counted), request id and access log, header
    cap, body cap, and innermost the trace ids of log lines (inside the request-id middleware,
    which clears the log context when a request starts).
    """
    install_error_handlers(app)
    provider = configure_tracing(app, settings, version=version)
    if provider is not None:
        app.add_middleware(TraceLogContextMiddleware)
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=settings.max_request_body_bytes,
        large_body_routes=large_body_routes,
    )
    app.add_middleware(
        HeaderLimitMiddleware,
        max_bytes=MAX_REQUEST_HEADER_BYTES,
        max_count=MAX_REQUEST_HEADERS,
    )
    app.add_middleware(RequestContextMiddleware, access_logger=access_logger)
    if settings.metrics_enabled:
        app.add_route("/metrics", metrics_endpoint, methods=["GET"], include_in_schema=False)
        app.add_middleware(HttpMetricsMiddleware, metrics=http_metrics)
    return provider
