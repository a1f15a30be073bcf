"""Rate-limit errors."""

from core_service.errors import AppError

__all__ = ["RateLimited"]


class RateLimited(AppError):
    """Too many attempts in the current window; ``Retry-After`` says when to come back."""

    code = "TooManyRequests"
    status_code = 429
    detail = "Too many attempts; try again later."

    def __init__(self, *, retry_after_s: int) -> None:
        super().__init__(
            f"Too many attempts; try again in {retry_after_s} seconds.",
            headers={"Retry-After": str(retry_after_s)},
        )
        self.retry_after_s = retry_after_s
