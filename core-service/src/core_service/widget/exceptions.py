"""Errors of the widget routes."""

from core_service.errors import AppError, NotFound

__all__ = [
    "EmbedKeyNotFound",
    "EmbedTargetMissing",
    "PublishableKeyRequired",
    "WidgetAssetNotFound",
]


class EmbedTargetMissing(AppError):
    """``/embed`` was opened with neither a publishable key nor the playground's bot."""

    code = "EmbedTargetMissing"
    status_code = 422
    detail = "Open /embed?key=<publishable key>, or /embed?playground=1&bot=<bot id> as the owner."


class WidgetAssetNotFound(NotFound):
    """No such file among the widget's assets."""

    detail = "No such widget asset."


class PublishableKeyRequired(AppError):
    """A page is public: only a publishable key (``pk_…``) belongs in its address."""

    code = "PublishableKeyRequired"
    status_code = 422
    detail = "The chat page takes a publishable key (pk_…); never put a secret key in a web page."


class EmbedKeyNotFound(NotFound):
    """The publishable key is unknown or revoked."""

    detail = "No such publishable key: it may have been revoked."
