"""Errors of the web sources feature."""

from core_service.errors import NotFound

__all__ = ["SourceNotFound"]


class SourceNotFound(NotFound):
    """No such source in the caller's bot (another user's source looks the same)."""

    detail = "Source not found."
