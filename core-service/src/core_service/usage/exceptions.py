"""Quota errors."""

from core_service.errors import AppError

__all__ = ["QuotaExceeded"]


class QuotaExceeded(AppError):
    """The plan's limit for a metric is reached; ``Retry-After`` when the period resets."""

    code = "QuotaExceeded"
    status_code = 429
    detail = "Your plan's limit is reached."

    def __init__(self, detail: str | None = None, *, retry_after_s: int | None = None) -> None:
        headers = {"Retry-After": str(retry_after_s)} if retry_after_s is not None else None
        super().__init__(detail, headers=headers)
