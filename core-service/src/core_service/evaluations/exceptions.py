"""Errors of the evaluations feature."""

from core_service.errors import NotFound

__all__ = ["EvaluationNotFound"]


class EvaluationNotFound(NotFound):
    """No such evaluation of the caller's bot (another user's looks the same)."""

    detail = "Evaluation not found."
