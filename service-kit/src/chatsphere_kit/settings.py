"""The settings every ChatSphere service has; each service's ``Settings`` inherits them.

A service sets its own ``env_prefix`` (``CORE_``, ``AGENT_``) and may override a default (the
body cap, the service name) by declaring the field again.
"""

from enum import StrEnum

from pydantic import Field
from pydantic_settings import BaseSettings

__all__ = ["Environment", "ServiceSettings"]


class Environment(StrEnum):
    """Where the service runs; production refuses development secrets."""

    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class ServiceSettings(BaseSettings):
    """Logging, observability, readiness and the limits of the HTTP server."""

    environment: Environment = Environment.DEVELOPMENT
    service_name: str = "chatsphere"
    log_level: str = "INFO"
    log_json: bool = True

    gc_tuning: bool = Field(
        default=True,
        description="Freeze the objects start-up built and collect young objects less often "
        "(more throughput, fewer latency spikes under load).",
    )
    metrics_enabled: bool = Field(default=True, description="Serve Prometheus metrics at /metrics.")
    otel_exporter_otlp_endpoint: str | None = Field(
        default=None, description="OTLP/HTTP collector base URL; tracing is off while unset."
    )
    otel_sample_ratio: float = Field(default=1.0, ge=0.0, le=1.0)
    readiness_timeout_s: float = Field(default=2.0, gt=0)

    max_request_body_bytes: int = Field(default=2_097_152, ge=1_024)
    max_request_header_bytes: int = Field(
        default=65_536,
        ge=4_096,
        le=1_048_576,
        description="Request line and headers together; larger requests get 431.",
    )
    max_request_headers: int = Field(
        default=100, ge=10, le=1_000, description="Header fields per request; more get 431."
    )
    request_header_timeout_s: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="Time a client has to send a request's headers (slow senders are cut).",
    )
    keep_alive_timeout_s: int = Field(
        default=5, ge=1, le=300, description="Idle time before a kept-alive connection closes."
    )
