"""Errors of the bot keys feature."""

from core_service.errors import AppError, NotFound

__all__ = ["BotKeyNotFound", "InvalidBotKey", "OriginNotAllowed", "TooManyBotKeys"]


class BotKeyNotFound(NotFound):
    """No such key on the caller's bot."""

    detail = "Bot key not found."


class InvalidBotKey(AppError):
    """The bot key is missing, unknown or revoked."""

    code = "InvalidBotKey"
    status_code = 401
    detail = "The bot key is missing, invalid or revoked."

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class OriginNotAllowed(AppError):
    """A publishable key used from an origin it does not list (or with no ``Origin`` at all)."""

    code = "OriginNotAllowed"
    status_code = 403
    detail = "This key may only be used from the web sites it lists."


class TooManyBotKeys(AppError):
    """The bot already has as many keys in use as a bot may have."""

    code = "TooManyBotKeys"
    status_code = 409
    detail = "This bot has as many keys as it may have; revoke one it no longer needs first."
