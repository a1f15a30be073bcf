"""Per-end-user message limit: one visitor cannot spend a whole key's (or plan's) allowance."""

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core_service.auth.dependencies import AppSettings
from core_service.public.dependencies import EndUser
from core_service.ratelimit.dependencies import count_hit_autocommit
from core_service.ratelimit.service import Limit, bucket_key

__all__ = ["EndUserMessageLimit", "limit_end_user_messages"]

_WINDOW_S = 60


async def limit_end_user_messages(
    request: Request, end_user: EndUser, settings: AppSettings
) -> None:
    """Count a message of this end user; 429 with ``Retry-After`` past the per-minute limit."""
    sessions: async_sessionmaker[AsyncSession] = request.app.state.read_sessionmaker
    async with sessions() as session:
        await count_hit_autocommit(
            session,
            key=bucket_key("enduser-messages", f"{end_user.bot_id}:{end_user.end_user_id}"),
            limit=Limit(hits=settings.public_messages_per_end_user_per_minute, window_s=_WINDOW_S),
        )


EndUserMessageLimit = Depends(limit_end_user_messages)
