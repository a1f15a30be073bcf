"""``POST /v1/chat`` and ``POST /v1/chat/stream``."""

from enum import StrEnum
from typing import Annotated

from pydantic import Field

from chatsphere_contracts.v1._base import (
    JsonNumber,
    StorableText,
    WireModel,
)
from chatsphere_contracts.v1.index import Namespace
from chatsphere_contracts.v1.limits import (
    MAX_HISTORY_MESSAGES,
    MAX_MESSAGE_CHARS,
    MAX_TOP_K,
)
from chatsphere_contracts.v1.retrieval import RetrievalFilter

__all__ = [
    "AgentType",
    "AnswerTimings",
    "ChatConfig",
    "ChatRequest",
    "ChatResponse",
    "ChatRole",
    "Citation",
    "HistoryMessage",
    "TokenUsage",
    "ToolName",
]


class ChatRole(StrEnum):
    """Who wrote a message."""

    USER = "user"
    ASSISTANT = "assistant"


class ToolName(StrEnum):
    """The tools of the agent's ``react`` chain: the names the agent gives them and core checks."""

    CALCULATOR = "calculator"
    SEARCH_DOCUMENTS = "search_documents"


class AgentType(StrEnum):
    """How the agent answers: one retrieval then generation, or a tool-calling loop."""

    RAG = "rag"
    REACT = "react"


class HistoryMessage(WireModel):
    """One earlier turn of the conversation."""

    role: ChatRole = Field(description="'user' or 'assistant'.")
    content: StorableText = Field(min_length=1, max_length=MAX_MESSAGE_CHARS, description="Text.")


class ChatConfig(WireModel):
    """The bot's settings that shape this answer; omitted fields take the agent's defaults."""

    system_prompt: StorableText | None = Field(
        default=None, max_length=8_000, description="Instructions placed before everything else."
    )
    temperature: Annotated[float, Field(ge=0.0, le=2.0), JsonNumber] | None = Field(
        default=None, description="Sampling."
    )
    agent_type: AgentType | None = Field(default=None, description="'rag' (default) or 'react'.")
    top_k: Annotated[int, Field(ge=1, le=MAX_TOP_K), JsonNumber] | None = Field(
        default=None, description="Passages to use."
    )
    model: StorableText | None = Field(
        default=None, max_length=200, description="Model name for the configured provider."
    )
    tools: list[StorableText] | None = Field(
        default=None, max_length=20, description="Tool names the 'react' agent may use."
    )


class ChatRequest(WireModel):
    """A user's message with the recent history and the bot's configuration."""

    namespace: Namespace = Field(description="Namespace holding the bot's passages.")
    message: StorableText = Field(
        min_length=1, max_length=MAX_MESSAGE_CHARS, description="The message."
    )
    history: list[HistoryMessage] = Field(
        default_factory=list, max_length=MAX_HISTORY_MESSAGES, description="Oldest first."
    )
    config: ChatConfig = Field(default_factory=ChatConfig, description="Bot configuration.")
    filter: RetrievalFilter | None = Field(default=None, description="Optional restriction.")


class Citation(WireModel):
    """A passage the answer used."""

    chunk_id: str = Field(description="Vector id of the passage.")
    document_id: str = Field(description="Document the passage belongs to.")
    score: float = Field(description="Retrieval relevance in [0, 1].")
    snippet: str = Field(description="The part of the passage the answer drew on.")


class TokenUsage(WireModel):
    """Tokens consumed by the answer (estimated where the provider does not count)."""

    input_tokens: int = Field(default=0, ge=0, description="Prompt tokens.")
    output_tokens: int = Field(default=0, ge=0, description="Generated tokens.")


class AnswerTimings(WireModel):
    """Where an answer's time went in the agent, in milliseconds, measured as it happened."""

    retrieval_ms: float = Field(ge=0, description="Finding the passages (all searches).")
    first_token_ms: float = Field(
        ge=0, description="From the request's start to the first piece of the answer."
    )
    generation_ms: float = Field(
        ge=0, description="Everything but retrieval: the model's work, or the extraction."
    )
    total_ms: float = Field(ge=0, description="From the request's start to the last piece.")


_TIMINGS_DESCRIPTION = "Where the answer's time went; absent from agents that do not measure it."


class ChatResponse(WireModel):
    """The answer with the passages it cites."""

    answer: str = Field(description="The generated or extracted answer.")
    citations: list[Citation] = Field(description="Passages the answer used.")
    usage: TokenUsage = Field(description="Token usage.")
    model: str = Field(description="Model (or 'extractive') that produced the answer.")
    answered: bool = Field(
        default=True,
        description=(
            "False when no passage was relevant enough to answer from; the answer then says so "
            "and cites nothing."
        ),
    )
    timings: AnswerTimings | None = Field(default=None, description=_TIMINGS_DESCRIPTION)
