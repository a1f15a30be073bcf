"""Errors of the widget routes."""

from core_service.errors import AppError, NotFound

__all__ = ["EmbedTargetMissing", "WidgetAssetNotFound"]


class EmbedTargetMissing(AppError):
    """``/embed`` was opened with neither a publishable key nor the playground's bot."""

    code = "EmbedTargetMissing"
    status_code = 422
    detail = "Open /embed?key=<publishable key>, or /embed?playground=1&bot=<bot id> as the owner."


class WidgetAssetNotFound(NotFound):
    """No such file among the widget's assets."""

    detail = "No such widget asset."
