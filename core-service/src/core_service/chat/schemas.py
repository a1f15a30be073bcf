"""Chat bodies of the API."""

from pydantic import BaseModel

from core_service.conversations.schemas import CitationRead, MessageRead

__all__ = ["ChatTurn", "StreamCitationsRead", "StreamDoneMessage"]


class ChatTurn(BaseModel):
    """The stored user message and the assistant's answer to it."""

    user_message: MessageRead
    assistant_message: MessageRead


class StreamDoneMessage(BaseModel):
    """``event: done`` of core's stream: the stored assistant message."""

    message: MessageRead


class StreamCitationsRead(BaseModel):
    """``event: citations`` of core's stream: the stored answer's citations."""

    citations: list[CitationRead]
