"""Core service settings, read from ``CORE_*`` environment variables (and ``.env``)."""

import ipaddress
import math
from collections import Counter
from functools import lru_cache
from typing import ClassVar, Literal, Self

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from chatsphere_kit.settings import Environment, ServiceSettings

__all__ = ["Environment", "Settings", "get_settings"]

DEV_JWT_SECRET = "development-only-jwt-secret-change-me-0123456789"  # noqa: S105
DEV_AGENT_API_KEY = "development-only-agent-key"  # noqa: S105
PUBLIC_SESSION_AUDIENCE = "chatsphere-public"
"""The audience of end users' session tokens: what keeps one from passing as an access token."""


class Settings(ServiceSettings):
    """Every setting of the core service; see the README for each one.

    Logging, observability, readiness and the HTTP server's limits come from the kit's
    ``ServiceSettings``, read here as ``CORE_*``.
    """

    # A refused start-up must not print any part of a secret: pydantic's errors show the input
    # (``input_value=...``) unless told not to.
    model_config = SettingsConfigDict(
        env_prefix="CORE_", env_file=".env", extra="ignore", hide_input_in_errors=True
    )

    service_name: ClassVar[str] = "core-service"

    worker_metrics_port: int | None = Field(
        default=None, ge=1, le=65_535, description="Port the worker serves its metrics on."
    )

    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("CORE_DATABASE_URL", "DATABASE_URL"),
        description="postgresql+asyncpg://… ; unset means the embedded server of `make run`.",
    )
    # Kept open, not overflow: SQLAlchemy closes an overflow connection as soon as it is
    # returned, so under load every request past the pool's size opened a new connection (and
    # prepared its statements again); the same 30 as a pool of 10 + 20 overflow, reused,
    # doubled the API's throughput (BENCHMARKS.md, "the connection pool").
    database_pool_size: int = Field(default=30, ge=1, le=200)
    database_max_overflow: int = Field(default=0, ge=0, le=200)
    database_statement_timeout_ms: int = Field(default=15_000, ge=0)
    database_pool_pre_ping: bool = Field(
        default=False,
        description="Ping each pooled connection before use (a round trip per request); off "
        "because a lost connection is detected on use anyway and answered with 503.",
    )

    # Tokens and passwords: README, "Tokens and passwords".
    jwt_secret: SecretStr = Field(
        default=SecretStr(DEV_JWT_SECRET),
        description="HS256 signing secret; set per deployment (production refuses the default).",
    )
    jwt_algorithm: Literal["HS256", "RS256", "EdDSA"] = Field(
        default="HS256", description="Asymmetric keys let other services verify tokens."
    )
    jwt_issuer: str = Field(
        default="chatsphere-core", description="`iss` of tokens: set it to tell deployments apart."
    )
    jwt_audience: str = Field(
        default="chatsphere-api", description="`aud` of access tokens, checked on every request."
    )
    jwt_private_key: SecretStr | None = Field(
        default=None, description="PEM signing key for RS256/EdDSA (unused with HS256)."
    )
    jwt_key_id: str | None = Field(
        default=None, description="`kid` of tokens signed now; required for RS256/EdDSA."
    )
    jwt_verification_keys: dict[str, str] = Field(
        default_factory=dict,
        description="Older public keys (kid -> PEM), accepted while their tokens live.",
    )
    jwt_leeway_s: int = Field(
        default=10, ge=0, le=120, description="Clock skew between replicas tolerated on `exp`."
    )
    access_token_ttl_s: int = Field(
        default=900, ge=60, le=86_400, description="How long a stolen access token works."
    )
    refresh_token_ttl_s: int = Field(
        default=30 * 86_400, ge=3_600, description="How long a session lasts without sign-in."
    )

    # argon2id's cost: memory and time per sign-in, against an attacker's cost per guess.
    argon2_time_cost: int = Field(default=3, ge=1, le=20, description="Passes over the memory.")
    argon2_memory_kib: int = Field(
        default=65_536, ge=8, le=4_194_304, description="Memory per hash (OWASP: 19 MiB at least)."
    )
    argon2_parallelism: int = Field(default=4, ge=1, le=64, description="Lanes per hash.")
    password_hash_workers: int | None = Field(
        default=None, ge=1, le=256, description="Hashes run at once; unset means one per CPU."
    )
    password_hash_queue: int = Field(
        default=4, ge=0, le=1_000, description="Hashes that may wait; beyond them, 503."
    )
    password_hash_per_address: int = Field(
        default=1, ge=1, le=100, description="Running or waiting hashes of one client address."
    )
    password_hash_retry_after_s: int = Field(
        default=1, ge=1, le=60, description="`Retry-After` of a refused sign-in (503 or 429)."
    )

    # Rate limits: README, "Rate limits" (the counts per window are what operators tune).
    rate_limit_login_per_address: int = Field(
        default=60, ge=1, description="Login attempts from one client address."
    )
    rate_limit_login_per_account: int = Field(
        default=5, ge=1, description="Login attempts on one account from one client address."
    )
    rate_limit_login_per_account_all_addresses: int = Field(
        default=50, ge=1, description="Login attempts on one account from all addresses."
    )
    rate_limit_login_window_s: int = Field(default=900, ge=1, description="The login window.")
    rate_limit_register_per_address: int = Field(
        default=20, ge=1, description="Registrations from one client address..."
    )
    rate_limit_register_window_s: int = Field(default=3_600, ge=1, description="...in this window.")

    stripe_webhook_secret: SecretStr | None = Field(
        default=None, description="`whsec_…` signing secret; the webhook answers 503 without it."
    )

    # The agent service: README, "Agent service".
    agent_url: str = Field(default="http://127.0.0.1:8001", description="The agent's base URL.")
    agent_api_key: SecretStr = Field(
        default=SecretStr(DEV_AGENT_API_KEY),
        description="Core's service key for the agent (production refuses the default).",
    )
    agent_connect_timeout_s: float = Field(
        default=3.0, gt=0, description="An agent that does not accept by then is down: 503."
    )
    agent_read_timeout_s: float = Field(
        default=120.0, gt=0, description="Longest answer wait: slow models need more."
    )
    agent_max_connections: int = Field(
        default=1_000,
        ge=1,
        le=100_000,
        description="Open connections to the agent per process: one per answer being "
        "streamed, so at least the streams a process carries at once.",
    )

    # Bots, documents and chat (see the README's "Bots, documents and chat").
    ingestion_max_text_chars: int = Field(
        default=5_000_000, ge=1_000, description="Longest text of one document (longer: error)."
    )
    rate_limit_uploads_per_user: int = Field(
        default=60,
        ge=1,
        description="Document uploads (files and text) one user may make a minute.",
    )
    # Untrusted files are parsed in a child process of the worker under these limits (README,
    # "Uploads, extraction limits and storage").
    extraction_cpu_seconds: int = Field(
        default=30, ge=1, le=3_600, description="CPU time one extraction may use."
    )
    extraction_memory_mb: int = Field(
        default=320, ge=64, le=65_536, description="Address space of the extraction process."
    )
    extraction_wall_seconds: float = Field(
        default=60.0,
        gt=0,
        le=3_600,
        description="Wall-clock time before the extraction is killed; keep it below the lease.",
    )
    blob_store: Literal["postgres", "s3"] = Field(
        default="postgres", description="Where original files are kept."
    )
    s3_bucket: str | None = Field(default=None, description="Required with blob_store=s3.")
    s3_endpoint_url: str | None = Field(
        default=None, description="For S3-compatible services (MinIO, Ceph); unset for AWS."
    )
    s3_region: str | None = None
    s3_key_prefix: str = Field(default="", description="Put before every key (a shared bucket).")
    s3_access_key_id: SecretStr | None = Field(
        default=None, description="Unset: boto3's own chain (environment, IAM role)."
    )
    s3_secret_access_key: SecretStr | None = None
    ingestion_upsert_batch_size: int = Field(
        default=100, ge=1, le=500, description="Chunks per agent upsert (bounds one call's time)."
    )
    worker_poll_interval_s: float = Field(default=1.0, gt=0)
    # Most of a job is waiting on the agent and its embedder; the extraction slots below bound
    # the memory, so more jobs in flight cost little (measured: BENCHMARKS.md, paced ingestion).
    worker_concurrency: int = Field(
        default=8, ge=1, le=32, description="Jobs one worker process works on at once."
    )
    worker_extraction_concurrency: int = Field(
        default=2,
        ge=1,
        le=32,
        description="Of those, how many read, extract and chunk a document at once (each may "
        "hold a file, its text and an extraction process); the others wait on the agent.",
    )
    worker_lease_s: float = Field(default=120.0, gt=0)
    worker_max_attempts: int = Field(
        default=10, ge=1, description="Claims before a job (a document) ends in error."
    )
    worker_retry_initial_s: float = Field(
        default=1.0, gt=0, description="First backoff of a failed job (doubles, with jitter)..."
    )
    worker_retry_max_s: float = Field(default=300.0, gt=0, description="...up to this.")
    worker_attempts_per_claim: int = Field(
        default=3, ge=1, le=20, description="Quick tries of an unavailable agent per claim."
    )
    chat_history_max_messages: int = Field(
        default=20, ge=0, le=100, description="Earlier messages sent with each question..."
    )
    chat_history_token_budget: int = Field(
        default=3_000, ge=0, description="...within this many tokens (a model's context, cost)."
    )
    public_session_ttl_s: int = Field(
        default=3_600, ge=1, le=86_400, description="Lifetime of an end user's session token."
    )
    public_messages_per_end_user_per_minute: int = Field(
        default=30, ge=1, description="Messages one end user may send a bot in a minute."
    )

    # Outgoing webhooks (README, "Webhooks").
    webhook_timeout_s: float = Field(
        default=5.0,
        gt=0,
        le=60,
        description="Whole time one delivery try may take (connect, send, first response).",
    )
    webhook_retry_initial_s: float = Field(
        default=10.0, gt=0, description="Wait before the first retry (plus jitter up to it)."
    )
    webhook_retry_max_s: float = Field(default=3_600.0, gt=0, description="Longest wait.")
    webhook_retry_window_s: float = Field(
        default=86_400.0,
        gt=0,
        description="How long a delivery is retried; an endpoint failing this long is disabled.",
    )
    webhook_max_per_user: int = Field(
        default=20, ge=1, le=1_000, description="Endpoints one user may register."
    )

    # Fetching URLs users give us (web sources, webhooks): README, "Web sources".
    fetch_allowed_networks: str = Field(
        default="",
        description="Comma-separated CIDRs fetched although private (an intranet; loopback in "
        "tests), on any port. Empty: only public addresses on the allowed ports.",
    )
    fetch_allowed_ports: list[int] = Field(
        default_factory=lambda: [80, 443], description="Ports of public addresses fetched."
    )
    fetch_max_bytes: int = Field(
        default=5 * 1_048_576,
        ge=1_024,
        le=100 * 1_048_576,
        description="Largest page fetched (after decompression); larger ones fail.",
    )
    fetch_timeout_s: float = Field(
        default=20.0, gt=0, le=600, description="Time for one fetch, redirects included."
    )
    fetch_user_agent: str = Field(
        default="ChatSphereBot/1.0 (ChatSphere web sources)",
        min_length=1,
        description="Names the crawler to sites (robots.txt rules); add a contact URL.",
    )

    # Web sources (README, "Web sources").
    sources_max_pages: int = Field(
        default=1_000, ge=1, le=100_000, description="The most pages one source may ask for."
    )
    sources_max_depth: int = Field(default=5, ge=0, le=20, description="The deepest crawl.")
    sources_pages_per_job: int = Field(
        default=8, ge=1, le=100, description="Pages one job fetches before the next job turn."
    )
    sources_host_concurrency: int = Field(
        default=2, ge=1, le=4, description="Requests at once to one site (politeness)."
    )
    sources_max_sync_s: float = Field(
        default=3_600.0, gt=0, description="Total time one sync may take; then it stops."
    )

    max_upload_body_bytes: int = Field(
        default=110 * 1_048_576,
        ge=1_024,
        description="Hard cap on the bodies of upload routes; each plan's max_upload_mb applies "
        "below it. Every other route takes max_request_body_bytes.",
    )

    @field_validator("fetch_allowed_networks")
    @classmethod
    def _networks_parse(cls, value: str) -> str:
        for entry in filter(None, (e.strip() for e in value.split(","))):
            ipaddress.ip_network(entry, strict=False)  # ValueError names the bad entry
        return value

    @model_validator(mode="after")
    def _refuse_development_secrets_in_production(self) -> Self:
        if self.environment is not Environment.PRODUCTION:
            return self
        if self.jwt_secret.get_secret_value() == DEV_JWT_SECRET:
            raise ValueError("CORE_JWT_SECRET must be set in production")
        if self.agent_api_key.get_secret_value() == DEV_AGENT_API_KEY:
            raise ValueError("CORE_AGENT_API_KEY must be set in production")
        if self.database_url is None:
            raise ValueError("CORE_DATABASE_URL must be set in production")
        return self

    @model_validator(mode="after")
    def _refuse_weak_secrets_in_production(self) -> Self:
        if self.environment is not Environment.PRODUCTION:
            return self
        if self.jwt_algorithm == "HS256":
            _refuse_weak("CORE_JWT_SECRET", self.jwt_secret, DEV_JWT_SECRET, min_bits=128)
        _refuse_weak("CORE_AGENT_API_KEY", self.agent_api_key, DEV_AGENT_API_KEY, min_bits=96)
        return self

    @model_validator(mode="after")
    def _jwt_secret_strength(self) -> Self:
        if self.jwt_algorithm == "HS256" and len(self.jwt_secret.get_secret_value()) < 32:
            raise ValueError("CORE_JWT_SECRET must be at least 32 bytes for HS256")
        if self.jwt_algorithm != "HS256" and (self.jwt_private_key is None or not self.jwt_key_id):
            raise ValueError(
                "CORE_JWT_PRIVATE_KEY and CORE_JWT_KEY_ID are required for RS256/EdDSA"
            )
        return self

    @model_validator(mode="after")
    def _session_audience_is_its_own(self) -> Self:
        # The audience is what keeps an end user's session token from passing as an access token.
        if self.jwt_audience == PUBLIC_SESSION_AUDIENCE:
            raise ValueError(f"CORE_JWT_AUDIENCE must not be {PUBLIC_SESSION_AUDIENCE!r}")
        return self

    @model_validator(mode="after")
    def _argon2_at_least_owasp_in_production(self) -> Self:
        # OWASP's minimum is 19 MiB with t=2 (or more memory with t=1); tests may go lower.
        if self.environment is Environment.PRODUCTION and (
            self.argon2_memory_kib < 19_456 or self.argon2_time_cost < 2
        ):
            raise ValueError("argon2 parameters below OWASP's minimum (19456 KiB, t=2)")
        return self


def _estimated_bits(value: str) -> float:
    """The secret's length times the entropy of its own character frequencies: a generous
    estimate for random strings, and near zero for repeated or patterned ones."""
    counts = Counter(value)
    per_char = -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())
    return per_char * len(value)


def _refuse_weak(name: str, secret: SecretStr, development_value: str, *, min_bits: int) -> None:
    """``ValueError`` (naming the setting, never the value) for a secret that is padded with
    whitespace, is the development value in disguise, or is too short or too regular."""
    value = secret.get_secret_value()
    if value != value.strip() or development_value in value:
        raise ValueError(f"{name} has surrounding whitespace or contains the development value")
    if not value or _estimated_bits(value) < min_bits:
        raise ValueError(
            f"{name} is too weak for production: use a random value of at least 32 bytes, "
            "e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`"
        )


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
