"""Chat bodies of the API."""

from pydantic import BaseModel

from core_service.conversations.schemas import MessageRead

__all__ = ["ChatTurn", "StreamDoneMessage"]


class ChatTurn(BaseModel):
    """The stored user message and the assistant's answer to it."""

    user_message: MessageRead
    assistant_message: MessageRead


class StreamDoneMessage(BaseModel):
    """``event: done`` of core's stream: the stored assistant message."""

    message: MessageRead
