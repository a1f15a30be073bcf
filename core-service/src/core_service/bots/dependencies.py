"""``OwnedBot``: the one place that turns someone else's bot into a 404."""

import uuid
from typing import Annotated

from fastapi import Depends

from core_service.auth.dependencies import CurrentUser
from core_service.bots import service as bots_service
from core_service.bots.exceptions import BotNotFound
from core_service.bots.models import Bot
from core_service.database import SessionDep

__all__ = ["OwnedBot", "get_owned_bot"]


async def get_owned_bot(bot_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> Bot:
    """The caller's bot; 404 when it does not exist or belongs to someone else."""
    bot = await bots_service.get_bot(session, bot_id=bot_id, owner_id=user.id)
    if bot is None:
        raise BotNotFound
    return bot


OwnedBot = Annotated[Bot, Depends(get_owned_bot)]
