"""Hits counted in their own short transaction, so that they survive a failed request."""

import structlog
from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core_service.ratelimit import service as ratelimit_service
from core_service.ratelimit.exceptions import RateLimited
from core_service.ratelimit.service import Limit

__all__ = ["client_address", "count_hit", "count_hit_autocommit"]

_log = structlog.get_logger(__name__)


def client_address(request: Request) -> str:
    """The caller's address (uvicorn resolves ``X-Forwarded-For`` from trusted proxies)."""
    return request.client.host if request.client is not None else "unknown"


async def count_hit(request: Request, *, key: str, limit: Limit) -> None:
    """Count a hit and commit it at once; ``RateLimited`` when over the limit.

    The request's own transaction rolls back when a login fails, which would erase the
    count; a separate, committed transaction keeps it and shows it to every replica.
    """
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with sessionmaker() as session:
        try:
            hits = await ratelimit_service.hit(session, key=key, limit=limit)
        except RateLimited:
            _log.warning("rate_limited", scope=key.rsplit(":", 1)[0])
            raise
        finally:
            await session.commit()
        if hits == 1:
            # A new window began: a cheap moment to sweep windows that ended (no cron needed).
            await ratelimit_service.purge_expired(session)
            await session.commit()


async def count_hit_autocommit(session: AsyncSession, *, key: str, limit: Limit) -> None:
    """``count_hit`` on the caller's autocommit session (``read_sessionmaker``).

    The hit is one statement that commits by itself, so a bucket every request of a busy key
    shares is locked only inside the database, never while a busy event loop gets round to
    sending COMMIT (queued requests would each hold a pooled connection meanwhile).
    """
    try:
        hits = await ratelimit_service.hit(session, key=key, limit=limit)
    except RateLimited:
        _log.warning("rate_limited", scope=key.rsplit(":", 1)[0])
        raise
    if hits == 1:
        await ratelimit_service.purge_expired(session)
