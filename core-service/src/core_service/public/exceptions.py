"""Errors of the public chat API."""

from core_service.errors import AppError

__all__ = ["InvalidEndUserHash", "InvalidSession"]


class InvalidSession(AppError):
    """The end-user session token is missing, invalid, expired, or its key was revoked."""

    code = "InvalidSession"
    status_code = 401
    detail = "The session token is missing, invalid or expired; start a new session."

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class InvalidEndUserHash(AppError):
    """A browser named an end user without a valid HMAC of the id under the bot's identity
    secret."""

    code = "InvalidEndUserHash"
    status_code = 403
    detail = (
        "end_user_id needs end_user_hash: the hex HMAC-SHA256 of the id under the bot's "
        "identity secret, computed on your server."
    )
