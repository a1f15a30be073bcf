"""Errors of the OpenAI-compatible endpoint (answered in OpenAI's error shape on its path)."""

from core_service.errors import AppError, NotFound

__all__ = ["ModelNotFound", "SecretKeyRequired", "UnsupportedParameter"]


class ModelNotFound(NotFound):
    """The ``model`` is not the key's bot."""

    code = "ModelNotFound"
    detail = "The model does not exist: use the id of the bot this key belongs to."


class SecretKeyRequired(AppError):
    """A publishable key is for browsers; this endpoint is for servers."""

    code = "SecretKeyRequired"
    status_code = 403
    detail = "This endpoint takes a secret bot key (sk_…); publishable keys are for browsers."


class UnsupportedParameter(AppError):
    """A parameter OpenAI knows but this endpoint does not honour: refused, never ignored."""

    code = "UnsupportedParameter"
    status_code = 400
    detail = "The request uses a parameter this endpoint does not support."
