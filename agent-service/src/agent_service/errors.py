"""The agent's errors on the kit's base (service keys, limits, outside providers).

``AppError``, ``NotFound``, ``error_response`` and ``ERROR_RESPONSES`` are the kit's,
re-exported so that routers import their errors from one place.
"""

from chatsphere_kit.errors import ERROR_RESPONSES, AppError, NotFound, error_response

__all__ = [
    "ERROR_RESPONSES",
    "AppError",
    "Forbidden",
    "LimitExceeded",
    "NotFound",
    "ProviderError",
    "ProviderTimeout",
    "ProviderUnavailable",
    "Unauthorized",
    "error_response",
]


class Unauthorized(AppError):
    """No service key, or one the agent does not know."""

    code = "Unauthorized"
    status_code = 401
    detail = "A valid service key is required: send 'Authorization: Bearer <key>'."

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(AppError):
    """The key is valid but may not touch this namespace."""

    code = "Forbidden"
    status_code = 403
    detail = "This service key may not use that namespace."


class LimitExceeded(AppError):
    """The request is well-formed but larger than this deployment allows."""

    code = "LimitExceeded"
    status_code = 422
    detail = "The request exceeds a configured limit."


class ProviderError(AppError):
    """An outside provider (embeddings, LLM, vector index) answered with an error."""

    code = "ProviderError"
    status_code = 502
    detail = "An upstream provider failed to answer the request."


class ProviderUnavailable(AppError):
    """An outside provider cannot be reached or is overloaded (after retries)."""

    code = "ProviderUnavailable"
    status_code = 503
    detail = "An upstream provider is unavailable; try again later."


class ProviderTimeout(AppError):
    """An outside provider did not answer within its timeout."""

    code = "ProviderTimeout"
    status_code = 504
    detail = "An upstream provider did not answer in time."
