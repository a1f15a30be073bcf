"""Metrics and traces for the core service: one ``install_observability`` call wires both."""

from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig
from starlette.middleware import Middleware

from core_service.config import Settings
from core_service.observability.metrics import HttpMetricsMiddleware, metrics_endpoint
from core_service.observability.tracing import configure_tracing, tracing_enabled

__all__ = ["FASTAPI_NATIVE_TELEMETRY", "install_observability"]

# FastAPI's own OpenTelemetry support stays off: our instrumentation traces with its own provider
# and Prometheus counts requests, so it would only repeat them; and it looks up the global
# providers on every request.
FASTAPI_NATIVE_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


def install_observability(app: FastAPI, settings: Settings) -> None:
    """Serve ``/metrics``, count every request, and trace when an exporter is configured.

    Call it last in ``create_app``: the metrics middleware goes outermost (so 413s and errors of
    inner middleware are counted) and the log-context middleware innermost (inside the request-id
    middleware, which clears the log context when a request starts).
    """
    if settings.metrics_enabled:
        app.add_route("/metrics", metrics_endpoint, methods=["GET"], include_in_schema=False)
        app.user_middleware.insert(0, Middleware(HttpMetricsMiddleware))
    if tracing_enabled(settings):
        configure_tracing(app, settings)
