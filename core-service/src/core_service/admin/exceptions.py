"""Staff action errors."""

from core_service.errors import AppError

__all__ = ["CannotDeactivateSelf", "StripePriceTaken"]


class CannotDeactivateSelf(AppError):
    """A staff member may not lock themselves out."""

    code = "CannotDeactivateSelf"
    status_code = 409
    detail = "You cannot deactivate your own account."


class StripePriceTaken(AppError):
    """Another plan already sells under this Stripe price."""

    code = "StripePriceTaken"
    status_code = 409
    detail = "Another plan already uses that Stripe price."
