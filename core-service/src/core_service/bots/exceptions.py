"""Errors of the bots feature."""

from core_service.errors import NotFound

__all__ = ["BotNotFound"]


class BotNotFound(NotFound):
    """No such bot among the caller's bots (another user's bot looks the same)."""

    detail = "Bot not found."
