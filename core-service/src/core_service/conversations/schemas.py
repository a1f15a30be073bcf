"""Conversation and message bodies of the API."""

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from chatsphere_contracts.v1 import MAX_MESSAGE_CHARS, StorableText
from core_service.conversations.models import MessageRole

__all__ = [
    "CitationRead",
    "ConversationCreate",
    "ConversationRead",
    "FeedbackRating",
    "FeedbackRead",
    "MessageCreate",
    "MessageRead",
    "UsageRead",
]


class ConversationCreate(BaseModel):
    """A new conversation with a bot."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(default="", max_length=200)


class ConversationRead(BaseModel):
    """A conversation."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    bot_id: uuid.UUID
    end_user_id: str | None = Field(
        default=None,
        description="The end user who held it through a bot key; null for the owner's own.",
    )
    title: str
    created_at: datetime
    updated_at: datetime


class CitationRead(BaseModel):
    """A passage an answer drew on; ``chunk_id`` is also the chunk's vector id.

    ``start`` and ``end`` are the passage's character offsets in the document's extracted text
    (``GET …/documents/{id}/content?start&end`` shows it in context); the snippet lies inside.
    """

    document_id: str
    chunk_id: str
    score: float
    snippet: str
    document_name: str | None = None
    start: int | None = None
    end: int | None = None
    url: str | None = None


class FeedbackRating(StrEnum):
    """A thumb up or down."""

    UP = "up"
    DOWN = "down"


class FeedbackRead(BaseModel):
    """What the user thought of an answer."""

    rating: FeedbackRating
    comment: str | None = None


class UsageRead(BaseModel):
    """Tokens an answer took (estimated when the model does not count)."""

    input_tokens: int
    output_tokens: int


class TimingsRead(BaseModel):
    """Where an answer's time went in the agent, in milliseconds."""

    retrieval_ms: float = Field(description="Finding the passages.")
    first_token_ms: float = Field(description="Until the first piece of the answer.")
    generation_ms: float = Field(description="Everything but retrieval: the model's work.")
    total_ms: float = Field(description="Until the last piece of the answer.")


class MessageRead(BaseModel):
    """One turn of a conversation."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    conversation_id: uuid.UUID
    role: MessageRole
    content: str
    citations: list[CitationRead]
    usage: UsageRead
    model: str | None
    answered: bool = Field(
        default=True,
        description="False when no passage was relevant enough to answer from; the content "
        "then says so.",
    )
    feedback: FeedbackRead | None = None
    timings: TimingsRead | None = Field(
        default=None, description="Where the answer's time went (assistant messages only)."
    )
    created_at: datetime


class MessageCreate(BaseModel):
    """What the user says."""

    model_config = ConfigDict(extra="forbid")

    content: StorableText = Field(min_length=1, max_length=MAX_MESSAGE_CHARS)
