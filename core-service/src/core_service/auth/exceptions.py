"""Authentication errors; every 401 carries ``WWW-Authenticate: Bearer``."""

from core_service.errors import AppError

__all__ = [
    "InvalidCredentials",
    "InvalidRefreshToken",
    "InvalidToken",
    "PasswordHashingBusy",
    "RefreshTokenReused",
    "WrongCurrentPassword",
    "StaffOnly",
]

_BEARER = {"WWW-Authenticate": "Bearer"}


class _Unauthorized(AppError):
    status_code = 401

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail, headers=dict(_BEARER))


class InvalidCredentials(_Unauthorized):
    """Unknown user, wrong password or deactivated account: one answer for all three."""

    code = "InvalidCredentials"
    detail = "Incorrect username or password."


class InvalidToken(_Unauthorized):
    """The access token is missing, malformed, expired, or not ours."""

    code = "InvalidToken"
    detail = "The access token is missing, invalid or expired."


class InvalidRefreshToken(_Unauthorized):
    """The refresh token is unknown, expired or revoked."""

    code = "InvalidRefreshToken"
    detail = "The refresh token is invalid, expired or revoked."


class RefreshTokenReused(InvalidRefreshToken):
    """A rotated refresh token came back: its whole family is now revoked."""

    detail = "The refresh token was already used; every session of its login is revoked."


class StaffOnly(AppError):
    """The caller is signed in but is not staff."""

    code = "Forbidden"
    status_code = 403
    detail = "This needs a staff account."


class WrongCurrentPassword(AppError):
    """Changing the email or password needs the current password, and it was wrong."""

    code = "WrongCurrentPassword"
    status_code = 403
    detail = "The current password is wrong."


class PasswordHashingBusy(AppError):
    """Every password-hashing place is taken (a login flood); come back shortly."""

    code = "ServiceBusy"
    status_code = 503
    detail = "Too many sign-ins are being checked right now; try again shortly."

    def __init__(self, *, retry_after_s: int) -> None:
        super().__init__(headers={"Retry-After": str(retry_after_s)})
