"""Fixed-window counters in PostgreSQL: one atomic upsert per hit, shared by all replicas."""

import hashlib
import math
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, text
from sqlalchemy.ext.asyncio import AsyncSession

from core_service.ratelimit.exceptions import RateLimited
from core_service.ratelimit.models import RateLimitBucket

__all__ = ["Limit", "bucket_key", "hit", "reset"]


@dataclass(frozen=True)
class Limit:
    """At most ``hits`` per ``window_s`` seconds."""

    hits: int
    window_s: int


# The database clock decides the window, so replicas with skewed clocks agree; the hit runs
# in its own short transaction, so now() is the time of this hit.
_HIT = text(
    """
    INSERT INTO rate_limit_buckets AS b (key, window_start, hits)
    VALUES (:key, now(), 1)
    ON CONFLICT (key) DO UPDATE SET
        hits = CASE WHEN b.window_start + CAST(:window AS interval) <= now()
                    THEN 1 ELSE b.hits + 1 END,
        window_start = CASE WHEN b.window_start + CAST(:window AS interval) <= now()
                            THEN now() ELSE b.window_start END
    RETURNING b.hits, EXTRACT(EPOCH FROM b.window_start + CAST(:window AS interval) - now())
    """
)


def bucket_key(scope: str, value: str) -> str:
    """A bucket key that does not store the raw address or login name."""
    digest = hashlib.sha256(value.strip().lower().encode()).hexdigest()[:40]
    return f"{scope}:{digest}"


async def hit(session: AsyncSession, *, key: str, limit: Limit) -> None:
    """Count one hit on ``key``; ``RateLimited`` once the window holds more than allowed."""
    row = (
        await session.execute(_HIT, {"key": key, "window": timedelta(seconds=limit.window_s)})
    ).one()
    hits, remaining_s = int(row[0]), float(row[1])
    if hits > limit.hits:
        raise RateLimited(retry_after_s=max(1, math.ceil(remaining_s)))


async def reset(session: AsyncSession, *, key: str) -> None:
    """Forget the hits on ``key`` (after a successful login)."""
    await session.execute(delete(RateLimitBucket).where(RateLimitBucket.key == key))
