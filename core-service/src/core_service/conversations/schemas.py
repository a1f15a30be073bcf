"""Conversation and message bodies of the API."""

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from chatsphere_contracts.v1 import MAX_MESSAGE_CHARS, StorableText
from core_service.conversations.models import MessageRole

__all__ = [
    "CitationRead",
    "ConversationCreate",
    "ConversationRead",
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
    title: str
    created_at: datetime
    updated_at: datetime


class CitationRead(BaseModel):
    """A passage an answer drew on; ``chunk_id`` is also the chunk's vector id."""

    document_id: str
    chunk_id: str
    score: float
    snippet: str


class UsageRead(BaseModel):
    """Tokens an answer took (estimated when the model does not count)."""

    input_tokens: int
    output_tokens: int


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
    created_at: datetime


class MessageCreate(BaseModel):
    """What the user says."""

    model_config = ConfigDict(extra="forbid")

    content: StorableText = Field(min_length=1, max_length=MAX_MESSAGE_CHARS)
