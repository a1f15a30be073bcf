"""Errors of calls to the agent service."""

from core_service.errors import AppError

__all__ = ["AgentRejected", "AgentUnavailable"]


class AgentUnavailable(AppError):
    """The agent could not be reached, timed out or failed (5xx): worth trying again later."""

    code = "AgentUnavailable"
    status_code = 503
    detail = "The assistant is unavailable right now; please try again shortly."


class AgentRejected(AppError):
    """The agent refused the request (4xx): trying again will not help."""

    code = "AgentError"
    status_code = 502
    detail = "The assistant refused the request."
