"""Staff action errors."""

from core_service.errors import AppError, NotFound

__all__ = ["CannotDeactivateSelf", "JobNotFailed", "JobNotFound", "StripePriceTaken"]


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


class JobNotFound(NotFound):
    """No job with this id (finished jobs leave the table)."""

    code = "JobNotFound"
    detail = "Job not found."


class JobNotFailed(AppError):
    """Only a failed job can be re-queued: a pending or running one is still in the queue."""

    code = "JobNotFailed"
    status_code = 409
    detail = "Only a failed job can be re-queued; this one is still in the queue."
