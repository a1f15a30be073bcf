"""The one clock of the accounts code, timezone-aware."""

from datetime import UTC, datetime

__all__ = ["utcnow"]


def utcnow() -> datetime:
    """Now, in UTC."""
    return datetime.now(UTC)
