"""The settings every ChatSphere service has; each service's ``Settings`` inherits them.

A service sets its own ``env_prefix`` (``CORE_``, ``AGENT_``) and may override a default (the
body cap, the service name) by declaring the field again.
"""

from enum import StrEnum
from typing import ClassVar

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

    # What the service calls itself (logs, traces, PostgreSQL's application_name): fixed per
    # service, not a setting.
    service_name: ClassVar[str] = "chatsphere"

    environment: Environment = Field(
        default=Environment.DEVELOPMENT,
        description="production refuses development secrets and requires real settings.",
    )
    log_level: str = Field(default="INFO", description="DEBUG while investigating.")
    log_json: bool = Field(
        default=True, description="JSON lines for a log collector; false for a console."
    )

    gc_tuning: bool = Field(
        default=True,
        description="Freeze the objects start-up built and collect young objects less often "
        "(more throughput, fewer latency spikes under load).",
    )
    metrics_enabled: bool = Field(default=True, description="Serve Prometheus metrics at /metrics.")
    otel_exporter_otlp_endpoint: str | None = Field(
        default=None, description="OTLP/HTTP collector base URL; tracing is off while unset."
    )
    otel_sample_ratio: float = Field(
        default=1.0, ge=0.0, le=1.0, description="Fraction of new traces kept (tracing's cost)."
    )
    readiness_timeout_s: float = Field(
        default=2.0,
        gt=0,
        description="/readyz answers 503 when the database does not answer within this; keep it "
        "below the readiness probe's own timeout.",
    )

    max_request_body_bytes: int = Field(
        default=2_097_152, ge=1_024, description="Larger bodies get 413 (memory per request)."
    )
    request_header_timeout_s: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="Time a client has to send a request's headers (slow senders are cut).",
    )
    keep_alive_timeout_s: int = Field(
        default=5,
        ge=1,
        le=300,
        description="Idle time before a kept-alive connection closes; behind a load balancer, "
        "set it above the balancer's own idle timeout.",
    )
