"""Deployment limits below the contract's bounds (the contract models enforce those)."""

from agent_service.errors import LimitExceeded

__all__ = ["check_at_most"]


def check_at_most(what: str, count: int, limit: int) -> None:
    """422 ``LimitExceeded`` when ``count`` is above ``limit``."""
    if count > limit:
        raise LimitExceeded(f"At most {limit} {what} per request; this one has {count}.")
