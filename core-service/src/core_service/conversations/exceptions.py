"""Errors of the conversations feature."""

from core_service.errors import NotFound

__all__ = ["ConversationNotFound"]


class ConversationNotFound(NotFound):
    """No such conversation among the caller's (another user's looks the same)."""

    detail = "Conversation not found."
