"""Errors of the webhooks feature."""

from core_service.errors import AppError, NotFound

__all__ = ["DeliveryNotFound", "TooManyWebhooks", "WebhookNotFound"]


class WebhookNotFound(NotFound):
    """No such endpoint among the caller's (another user's looks the same)."""

    detail = "Webhook not found."


class DeliveryNotFound(NotFound):
    """No such delivery in the endpoint's log."""

    detail = "Delivery not found."


class TooManyWebhooks(AppError):
    """Every event is written once per endpoint: the number of endpoints is bounded."""

    code = "TooManyWebhooks"
    status_code = 422
    detail = "You have as many webhooks as allowed; delete one first."
