"""Agent service settings, read from ``AGENT_*`` environment variables (and ``.env``)."""

from enum import StrEnum
from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Environment", "Settings", "get_settings"]


class Environment(StrEnum):
    """Where the service runs."""

    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class Settings(BaseSettings):
    """Every setting of the agent service; see the README for each one."""

    model_config = SettingsConfigDict(env_prefix="AGENT_", env_file=".env", extra="ignore")

    environment: Environment = Environment.DEVELOPMENT
    service_name: str = "agent-service"
    log_level: str = "INFO"
    log_json: bool = True

    metrics_enabled: bool = Field(default=True, description="Serve Prometheus metrics at /metrics.")
    otel_exporter_otlp_endpoint: str | None = Field(
        default=None, description="OTLP/HTTP collector base URL; tracing is off while unset."
    )
    otel_sample_ratio: float = Field(default=1.0, ge=0.0, le=1.0)

    database_url: str | None = Field(
        default=None,
        description="postgresql://… of the agent's own vector database (pgvector store).",
    )
    database_pool_min_size: int = Field(default=1, ge=0, le=100)
    database_pool_max_size: int = Field(default=10, ge=1, le=200)
    readiness_timeout_s: float = Field(default=2.0, gt=0)

    max_request_body_bytes: int = Field(default=8 * 1_048_576, ge=1_024)


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
