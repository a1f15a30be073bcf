"""Webhook errors."""

from core_service.errors import AppError

__all__ = ["BillingNotConfigured", "InvalidWebhook"]


class InvalidWebhook(AppError):
    """The signature does not verify, or the body is not a Stripe event."""

    code = "InvalidWebhook"
    status_code = 400
    detail = "The webhook signature or payload is invalid."


class BillingNotConfigured(AppError):
    """No webhook secret is configured, so no event can be trusted."""

    code = "BillingNotConfigured"
    status_code = 503
    detail = "Stripe webhooks are not configured on this server."
