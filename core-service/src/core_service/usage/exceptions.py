"""Quota errors."""

from core_service.errors import AppError

__all__ = ["COUNT_LIMIT_RETRY_AFTER_S", "QuotaExceeded"]

# A limit on how many bots or documents exist frees up only when the owner deletes some or
# upgrades, not with time: the answer tells automated clients to stay away for a good while
# rather than retry in a loop.
COUNT_LIMIT_RETRY_AFTER_S = 3_600


class QuotaExceeded(AppError):
    """The plan's limit for a metric is reached; ``Retry-After`` says when to try again (when
    the period resets, or ``COUNT_LIMIT_RETRY_AFTER_S`` for limits that do not reset)."""

    code = "QuotaExceeded"
    status_code = 429
    detail = "Your plan's limit is reached."

    def __init__(self, detail: str | None = None, *, retry_after_s: int | None = None) -> None:
        retry_after_s = COUNT_LIMIT_RETRY_AFTER_S if retry_after_s is None else retry_after_s
        super().__init__(detail, headers={"Retry-After": str(retry_after_s)})
