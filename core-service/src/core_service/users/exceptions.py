"""Account errors."""

from core_service.errors import AppError, NotFound

__all__ = ["EmailTaken", "UserNotFound", "UsernameTaken", "WeakPassword"]


class UsernameTaken(AppError):
    """Another account has this username (ignoring case)."""

    code = "UsernameTaken"
    status_code = 409
    detail = "That username is already taken."


class EmailTaken(AppError):
    """Another account has this email address (ignoring case)."""

    code = "EmailTaken"
    status_code = 409
    detail = "An account with that email address already exists."


class WeakPassword(AppError):
    """The password breaks the password policy."""

    code = "WeakPassword"
    status_code = 422
    detail = "The password is too weak."


class UserNotFound(NotFound):
    """No user with that id."""

    code = "UserNotFound"
    detail = "There is no such user."
