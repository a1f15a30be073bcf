"""Metrics and traces: the HTTP series every service has, and the OpenTelemetry set-up."""

from fastapi.telemetry import TelemetryConfig

from chatsphere_kit.observability.metrics import (
    HttpMetrics,
    HttpMetricsMiddleware,
    metrics_response,
)
from chatsphere_kit.observability.tracing import (
    TraceLogContextMiddleware,
    configure_tracing,
    spans_flushed_at_exit,
    trace_httpx_client,
    tracing_httpx_calls,
)

__all__ = [
    "FASTAPI_NATIVE_TELEMETRY",
    "HttpMetrics",
    "HttpMetricsMiddleware",
    "TraceLogContextMiddleware",
    "configure_tracing",
    "metrics_response",
    "spans_flushed_at_exit",
    "trace_httpx_client",
    "tracing_httpx_calls",
]

# FastAPI's own OpenTelemetry support stays off: our instrumentation traces with its own provider
# and Prometheus counts requests, so it would only repeat them; and it looks up the global
# providers on every request.
FASTAPI_NATIVE_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}
