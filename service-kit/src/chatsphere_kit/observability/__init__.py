"""Metrics (``observability.metrics``) and traces (``observability.tracing``).

The submodules are imported by name, so that a process that only counts (the worker) does not
load OpenTelemetry.
"""

from fastapi.telemetry import TelemetryConfig

__all__ = ["FASTAPI_NATIVE_TELEMETRY"]

# FastAPI's own OpenTelemetry support stays off: our instrumentation traces with its own provider
# and Prometheus counts requests, so it would only repeat them; and it looks up the global
# providers on every request.
FASTAPI_NATIVE_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}
