"""Agent service settings, read from ``AGENT_*`` environment variables (and ``.env``)."""

from enum import StrEnum
from functools import lru_cache
from typing import ClassVar, Self

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from chatsphere_kit.settings import Environment, ServiceSettings

__all__ = [
    "DEVELOPMENT_API_KEY",
    "ChatProviderKind",
    "EmbedderKind",
    "Environment",
    "ServiceKey",
    "Settings",
    "VectorStoreKind",
    "get_settings",
]

_GEMINI_DIMENSIONS = frozenset({768, 1536})

DEVELOPMENT_API_KEY = "development-only-agent-key"  # noqa: S105 - a documented development default
"""Accepted outside production while no service keys are configured (core's default key)."""


class EmbedderKind(StrEnum):
    """Which embedding model turns text into vectors."""

    HASH = "hash"
    GEMINI = "gemini"
    LOCAL = "local"
    STATIC = "static"


# Calibrated on bench/questions (on-topic, paraphrased and off-topic questions): about midway
# between the best score of an off-topic question and that of the paraphrases, so that neither
# side sits on the edge. Unrelated texts score near 0 with the hashed words, and well above it
# with a semantic model; the measured figures are in BENCHMARKS.md.
EMBEDDER_MIN_SIMILARITY: dict[EmbedderKind, float] = {
    EmbedderKind.HASH: 0.3,
    EmbedderKind.LOCAL: 0.19,
    EmbedderKind.STATIC: 0.44,
    EmbedderKind.GEMINI: 0.6,
}


class VectorStoreKind(StrEnum):
    """Where vectors are kept."""

    PGVECTOR = "pgvector"
    PINECONE = "pinecone"


class ChatProviderKind(StrEnum):
    """Which model writes answers."""

    EXTRACTIVE = "extractive"
    GEMINI = "gemini"
    OPENAI = "openai"


class ServiceKey(BaseModel):
    """One caller's key, stored as its SHA-256 so that the settings never hold the key itself."""

    name: str = Field(min_length=1, max_length=100, description="Who holds the key, for logs.")
    sha256: str = Field(pattern=r"^[0-9a-fA-F]{64}$", description="Hex SHA-256 of the key.")
    namespace_prefixes: list[str] | None = Field(
        default=None, description="Namespaces the key may touch; null means all."
    )


class Settings(ServiceSettings):
    """Every setting of the agent service; see the README for each one.

    Logging, observability, readiness and the HTTP server's limits come from the kit's
    ``ServiceSettings``, read here as ``AGENT_*``.
    """

    # A refused start-up must not print any part of a secret: pydantic's errors show the input
    # (``input_value=...``) unless told not to.
    model_config = SettingsConfigDict(
        env_prefix="AGENT_", env_file=".env", extra="ignore", hide_input_in_errors=True
    )

    service_name: ClassVar[str] = "agent-service"

    database_url: str | None = Field(
        default=None,
        description="postgresql://… of the agent's own vector database (pgvector store).",
    )
    database_pool_min_size: int = Field(default=1, ge=0, le=100)
    database_pool_max_size: int = Field(default=10, ge=1, le=200)

    # Request limits: an operator lowers them to bound one caller's cost; the contract's bounds
    # are the ceiling.
    max_request_body_bytes: int = Field(
        default=8 * 1_048_576, ge=1_024, description="Larger bodies get 413."
    )
    max_texts_per_request: int = Field(
        default=256, ge=1, le=256, description="Texts per /v1/embeddings call."
    )
    max_chunks_per_upsert: int = Field(
        default=500, ge=1, le=500, description="Chunks per /v1/index/upsert call."
    )
    max_query_chars: int = Field(
        default=4_000, ge=1, le=4_000, description="Characters of a /v1/retrieve query."
    )
    max_message_chars: int = Field(
        default=16_000, ge=1, le=16_000, description="Characters of a chat message."
    )

    api_keys: list[ServiceKey] = Field(
        default_factory=list,
        description="The callers' keys (as SHA-256) and their namespaces; required in production.",
    )

    embedder: EmbedderKind = EmbedderKind.STATIC
    hash_dimensions: int = Field(default=1024, ge=64, le=2000)
    embedding_batch_size: int = Field(default=100, ge=1, le=100)
    local_embedding_model: str | None = Field(
        default=None,
        description="Folder of a sentence-transformers model; default: the shipped one.",
    )

    vector_store: VectorStoreKind = VectorStoreKind.PGVECTOR
    hybrid_search: bool = True
    hybrid_candidates: int = Field(default=50, ge=1, le=500)
    keyword_candidates: int = Field(default=1_000, ge=10, le=100_000)
    rrf_k: int = Field(default=60, ge=1, le=1000)
    hybrid_vector_weight: float = Field(
        default=1.0,
        ge=0.1,
        le=20.0,
        description=(
            "Weight of the vector ranking in hybrid fusion, against 1 for the full-text ranking."
        ),
    )
    min_relevant_similarity: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description=(
            "Cosine similarity from which a passage sharing no word with the question still "
            "grounds an answer; default: the embedder's own (see EMBEDDER_MIN_SIMILARITY)."
        ),
    )
    hnsw_ef_search: int = Field(
        default=100, ge=1, le=1000, description="pgvector's recall against query time."
    )
    pinecone_api_key: SecretStr | None = Field(default=None, description="Required for pinecone.")
    pinecone_index_host: str | None = Field(
        default=None, description="The index's data-plane host; required for pinecone."
    )

    chat_provider: ChatProviderKind = Field(
        default=ChatProviderKind.EXTRACTIVE, description="Which model writes answers."
    )
    react_max_steps: int = Field(
        default=6, ge=1, le=25, description="Model calls one 'react' answer may make (its cost)."
    )
    max_output_tokens: int = Field(
        default=1024, ge=16, le=65_536, description="Longest answer a model may write (its cost)."
    )

    google_api_key: SecretStr | None = None
    gemini_chat_model: str = "gemini-2.5-flash"
    gemini_embedding_model: str = "gemini-embedding-001"
    gemini_embedding_dimensions: int = Field(default=768, description="768 or 1536.")
    gemini_base_url: str | None = Field(
        default=None,
        description="Unset: Google's endpoint. Set for a proxy, a regional gateway or a stub.",
    )
    embedding_concurrency: int = Field(
        default=4, ge=1, le=32, description="Embedding batches of one request sent at once."
    )

    openai_base_url: str = Field(
        default="http://127.0.0.1:11434/v1",
        description="Any OpenAI-compatible server (Ollama, vLLM) for chat_provider=openai.",
    )
    openai_api_key: SecretStr | None = None
    openai_chat_model: str = "llama3.2"

    provider_timeout_s: float = Field(
        default=60.0,
        gt=0,
        description="Longest provider call or vector query; slow models need more.",
    )
    provider_max_retries: int = Field(default=3, ge=0, le=10)
    workers: int = Field(
        default=1,
        ge=1,
        le=64,
        description="Server processes of ``python -m agent_service`` (the image's command) "
        "sharing its port; streamed answers use a process's CPU for every token.",
    )
    provider_max_connections: int = Field(
        default=1_000,
        ge=1,
        le=100_000,
        description="Open connections to the OpenAI-compatible server per process: one per "
        "answer being streamed, so at least the streams a process carries at once.",
    )
    provider_retry_backoff_s: float = Field(default=0.5, ge=0.0, le=30.0)

    @field_validator("gemini_embedding_dimensions")
    @classmethod
    def _a_dimension_gemini_offers(cls, value: int) -> int:
        # A Literal[768, 1536] would refuse the string "768" that the environment gives.
        if value not in _GEMINI_DIMENSIONS:
            raise ValueError("must be 768 or 1536")
        return value

    @model_validator(mode="after")
    def _production_needs_real_settings(self) -> Self:
        if self.environment is Environment.PRODUCTION and not self.api_keys:
            raise ValueError("AGENT_API_KEYS must be set in production")
        if self.embedder is EmbedderKind.GEMINI or self.chat_provider is ChatProviderKind.GEMINI:
            if self.google_api_key is None:
                raise ValueError("AGENT_GOOGLE_API_KEY is required for the gemini provider")
        if self.vector_store is VectorStoreKind.PINECONE:
            if self.pinecone_api_key is None or not self.pinecone_index_host:
                raise ValueError(
                    "AGENT_PINECONE_API_KEY and AGENT_PINECONE_INDEX_HOST are required"
                )
        return self

    @property
    def accepts_development_key(self) -> bool:
        """The development key works only outside production and only while no keys are set."""
        return self.environment is not Environment.PRODUCTION and not self.api_keys


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
