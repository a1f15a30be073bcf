"""``/api/v1/bots/{bot_id}/keys`` and ``…/identity-secret``: the owner's side of bot keys."""

import uuid

from fastapi import APIRouter, Response, status

from core_service.botkeys import service as botkeys_service
from core_service.botkeys.exceptions import BotKeyNotFound
from core_service.botkeys.schemas import (
    BotKeyCreate,
    BotKeyCreated,
    BotKeyRead,
    IdentitySecretRead,
)
from core_service.bots.dependencies import OwnedBot
from core_service.database import SessionDep
from core_service.pagination import Page, PageQuery

__all__ = ["router"]

router = APIRouter(prefix="/bots/{bot_id}", tags=["bot keys"])


@router.post("/keys", status_code=status.HTTP_201_CREATED)
async def create_bot_key(bot: OwnedBot, body: BotKeyCreate, session: SessionDep) -> BotKeyCreated:
    """A new key for the bot; the key is in this answer only."""
    issued = await botkeys_service.create_key(session, bot=bot, data=body)
    return BotKeyCreated(**BotKeyRead.model_validate(issued.row).model_dump(), key=issued.key)


@router.get("/keys")
async def list_bot_keys(bot: OwnedBot, session: SessionDep, page: PageQuery) -> Page[BotKeyRead]:
    """The bot's keys in use, newest first (never the keys themselves)."""
    keys, total = await botkeys_service.list_keys(session, bot_id=bot.id, page=page)
    items = [BotKeyRead.model_validate(key) for key in keys]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.delete("/keys/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_bot_key(bot: OwnedBot, key_id: uuid.UUID, session: SessionDep) -> Response:
    """Revoke a key: it, and every session it issued, stop working at once."""
    if not await botkeys_service.revoke_key(session, bot_id=bot.id, key_id=key_id):
        raise BotKeyNotFound
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/identity-secret")
async def get_identity_secret(bot: OwnedBot, session: SessionDep) -> IdentitySecretRead:
    """The secret your server signs end-user ids with (made on first use)."""
    secret = await botkeys_service.get_identity_secret(session, bot_id=bot.id)
    return IdentitySecretRead(identity_secret=secret)


@router.post("/identity-secret/rotate")
async def rotate_identity_secret(bot: OwnedBot, session: SessionDep) -> IdentitySecretRead:
    """A new identity secret; end-user hashes made with the old one are refused from now on."""
    secret = await botkeys_service.rotate_identity_secret(session, bot_id=bot.id)
    return IdentitySecretRead(identity_secret=secret)
