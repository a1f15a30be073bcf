"""``/api/v1/bots``."""

from fastapi import APIRouter, Response, status

from core_service.auth.dependencies import CurrentUser, CurrentUserId
from core_service.bots import service as bots_service
from core_service.bots.dependencies import OwnedBot
from core_service.bots.schemas import BotCreate, BotRead, BotUpdate
from core_service.database import EngineDep, SessionDep
from core_service.pagination import Page, PageQuery

__all__ = ["router"]

router = APIRouter(prefix="/bots", tags=["bots"])


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_bot(body: BotCreate, user: CurrentUser, session: SessionDep) -> BotRead:
    """Create a bot (counts against the plan's bots)."""
    bot = await bots_service.create_bot(session, owner=user, data=body)
    return BotRead.model_validate(bot)


@router.get("")
async def list_bots(user_id: CurrentUserId, engine: EngineDep, page: PageQuery) -> Page[BotRead]:
    """The caller's bots, newest first (read by the driver alone: no session)."""
    bots, total = await bots_service.list_bots(engine, owner_id=user_id, page=page)
    items = [BotRead.model_validate(dict(bot)) for bot in bots]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/{bot_id}")
async def get_bot(bot: OwnedBot) -> BotRead:
    """One of the caller's bots."""
    return BotRead.model_validate(bot)


@router.patch("/{bot_id}")
async def update_bot(bot: OwnedBot, body: BotUpdate, session: SessionDep) -> BotRead:
    """Change the name, description or configuration."""
    return BotRead.model_validate(await bots_service.update_bot(session, bot=bot, data=body))


@router.delete("/{bot_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_bot(bot: OwnedBot, user: CurrentUser, session: SessionDep) -> Response:
    """Delete the bot, its documents, conversations and (in the background) its vectors."""
    await bots_service.delete_bot(session, bot=bot, owner=user)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
