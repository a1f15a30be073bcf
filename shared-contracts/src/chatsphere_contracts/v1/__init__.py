"""Version 1 of the agent API wire models."""

from chatsphere_contracts.v1._base import (
    JsonNumber,
    StorableText,
    StrictBool,
    StrictFloat,
    StrictInt,
)
from chatsphere_contracts.v1.chat import (
    AgentType,
    AnswerTimings,
    ChatConfig,
    ChatRequest,
    ChatResponse,
    ChatRole,
    Citation,
    HistoryMessage,
    TokenUsage,
    ToolName,
)
from chatsphere_contracts.v1.embeddings import EmbeddingsRequest, EmbeddingsResponse
from chatsphere_contracts.v1.errors import ErrorBody, FieldError
from chatsphere_contracts.v1.health import CheckStatus, HealthResponse, ReadinessResponse
from chatsphere_contracts.v1.index import (
    DeleteRequest,
    DeleteResponse,
    IndexChunk,
    UpsertRequest,
    UpsertResponse,
)
from chatsphere_contracts.v1.limits import (
    MAX_CHUNKS_PER_UPSERT,
    MAX_HISTORY_MESSAGES,
    MAX_MESSAGE_CHARS,
    MAX_QUERY_CHARS,
    MAX_TEXTS_PER_EMBEDDING,
    MAX_TOP_K,
)
from chatsphere_contracts.v1.retrieval import (
    RetrievalFilter,
    RetrieveMatch,
    RetrieveRequest,
    RetrieveResponse,
)
from chatsphere_contracts.v1.stream import (
    StreamCitations,
    StreamDone,
    StreamError,
    StreamEventName,
    StreamToken,
    format_sse,
)

API_VERSION = "v1"
"""Path prefix and module of this contract version."""
CONTRACT_VERSION = "1.0.0"
"""Semantic version of the v1 models; minor bumps only add optional fields."""

__all__ = [
    "API_VERSION",
    "CONTRACT_VERSION",
    "MAX_CHUNKS_PER_UPSERT",
    "MAX_HISTORY_MESSAGES",
    "MAX_MESSAGE_CHARS",
    "MAX_QUERY_CHARS",
    "MAX_TEXTS_PER_EMBEDDING",
    "MAX_TOP_K",
    "AgentType",
    "AnswerTimings",
    "ChatConfig",
    "ChatRequest",
    "ChatResponse",
    "ChatRole",
    "CheckStatus",
    "Citation",
    "DeleteRequest",
    "DeleteResponse",
    "EmbeddingsRequest",
    "EmbeddingsResponse",
    "ErrorBody",
    "FieldError",
    "HealthResponse",
    "HistoryMessage",
    "IndexChunk",
    "JsonNumber",
    "ReadinessResponse",
    "RetrievalFilter",
    "RetrieveMatch",
    "RetrieveRequest",
    "RetrieveResponse",
    "StorableText",
    "StreamCitations",
    "StreamDone",
    "StreamError",
    "StreamEventName",
    "StreamToken",
    "StrictBool",
    "StrictFloat",
    "StrictInt",
    "TokenUsage",
    "ToolName",
    "UpsertRequest",
    "UpsertResponse",
    "format_sse",
]
