"""Errors of the feedback feature."""

from core_service.errors import AppError, NotFound

__all__ = ["FeedbackOnUserMessage", "MessageNotFound"]


class MessageNotFound(NotFound):
    """No such message in the conversation."""

    detail = "Message not found."


class FeedbackOnUserMessage(AppError):
    """Only the assistant's answers are rated."""

    code = "FeedbackOnUserMessage"
    status_code = 422
    detail = "Feedback is given on the assistant's answers, not on the user's messages."
