"""``GET /api/v1/bots/{bot_id}/analytics``."""

from typing import Annotated

from fastapi import APIRouter, Query

from core_service.analytics import service as analytics_service
from core_service.analytics.schemas import BotAnalytics
from core_service.bots.dependencies import OwnedBot
from core_service.database import SessionDep

__all__ = ["router"]

router = APIRouter(tags=["analytics"])


@router.get("/bots/{bot_id}/analytics")
async def bot_analytics(
    bot: OwnedBot, session: SessionDep, days: Annotated[int, Query(ge=1, le=365)] = 30
) -> BotAnalytics:
    """Conversations, messages, answered rate, feedback and the top unanswered questions."""
    return await analytics_service.bot_analytics(session, bot_id=bot.id, days=days)
