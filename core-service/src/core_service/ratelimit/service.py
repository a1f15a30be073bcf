"""Fixed-window counters in PostgreSQL: one atomic upsert per hit, shared by all replicas."""

import hashlib
import math
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, text
from sqlalchemy.ext.asyncio import AsyncSession

from core_service.ratelimit.exceptions import RateLimited
from core_service.ratelimit.models import RateLimitBucket

__all__ = ["Limit", "bucket_key", "hit", "purge_expired", "reset"]


@dataclass(frozen=True)
class Limit:
    """At most ``hits`` per ``window_s`` seconds."""

    hits: int
    window_s: int


# The database clock decides the window, so replicas with skewed clocks agree; the hit runs
# in its own short transaction, so now() is the time of this hit.
_HIT = text(
    """
    INSERT INTO rate_limit_buckets AS b (key, hits, expires_at)
    VALUES (:key, 1, now() + CAST(:window AS interval))
    ON CONFLICT (key) DO UPDATE SET
        hits = CASE WHEN b.expires_at <= now() THEN 1 ELSE b.hits + 1 END,
        expires_at = CASE WHEN b.expires_at <= now() THEN EXCLUDED.expires_at ELSE b.expires_at END
    RETURNING b.hits, EXTRACT(EPOCH FROM b.expires_at - now())
    """
)
# SKIP LOCKED: concurrent purges take disjoint rows instead of waiting on or deadlocking each
# other.
_PURGE = text(
    """
    DELETE FROM rate_limit_buckets WHERE key IN (
        SELECT key FROM rate_limit_buckets WHERE expires_at < now()
        LIMIT :batch FOR UPDATE SKIP LOCKED
    )
    """
)


def bucket_key(scope: str, value: str) -> str:
    """A bucket key that does not store the raw address or login name."""
    digest = hashlib.sha256(value.strip().lower().encode()).hexdigest()[:40]
    return f"{scope}:{digest}"


async def hit(session: AsyncSession, *, key: str, limit: Limit) -> int:
    """Count one hit on ``key`` and return the hits in its window.

    Raises ``RateLimited`` once the window holds more than ``limit.hits``.
    """
    params = {"key": key, "window": timedelta(seconds=limit.window_s)}
    row = (await session.execute(_HIT, params)).one()
    hits, remaining_s = int(row[0]), float(row[1])
    if hits > limit.hits:
        raise RateLimited(retry_after_s=max(1, math.ceil(remaining_s)))
    return hits


async def purge_expired(session: AsyncSession, *, batch: int = 500) -> None:
    """Delete up to ``batch`` buckets whose window is over."""
    await session.execute(_PURGE, {"batch": batch})


async def reset(session: AsyncSession, *, key: str) -> None:
    """Forget the hits on ``key`` (after a successful login)."""
    await session.execute(delete(RateLimitBucket).where(RateLimitBucket.key == key))
