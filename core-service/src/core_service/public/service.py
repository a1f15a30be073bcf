"""Starting an end user's session: who the end user is, and the token that says so."""

import hashlib
import hmac
import secrets
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core_service.botkeys import service as botkeys_service
from core_service.botkeys.dependencies import BotKeyIdentity
from core_service.botkeys.models import KeyKind
from core_service.bots.exceptions import BotNotFound
from core_service.bots.models import Bot
from core_service.config import Settings
from core_service.public.exceptions import InvalidEndUserHash
from core_service.public.schemas import PublicBot, SessionCreate, SessionRead
from core_service.public.tokens import issue_session_token

__all__ = ["end_user_hash", "session_bot", "start_session"]

_ANONYMOUS_PREFIX = "anon_"


def end_user_hash(identity_secret: str, end_user_id: str) -> str:
    """The hex HMAC-SHA256 of ``end_user_id`` under the bot's identity secret."""
    return hmac.new(identity_secret.encode(), end_user_id.encode(), hashlib.sha256).hexdigest()


async def start_session(
    session: AsyncSession, *, caller: BotKeyIdentity, body: SessionCreate, settings: Settings
) -> SessionRead:
    """A session for the end user ``body`` names (or a new anonymous one) with the key's bot."""
    bot = await session_bot(session, bot_id=caller.bot_id)
    end_user_id = await _end_user_id(session, caller=caller, body=body)
    token = issue_session_token(
        settings, bot_id=bot.id, end_user_id=end_user_id, key_id=caller.key_id
    )
    return SessionRead(
        session_token=token,
        end_user_id=end_user_id,
        expires_in=settings.public_session_ttl_s,
        bot=PublicBot.model_validate(bot),
    )


async def session_bot(session: AsyncSession, *, bot_id: uuid.UUID) -> Bot:
    """The bot a key or session is for; ``BotNotFound`` if it was deleted meanwhile."""
    bot = await session.scalar(select(Bot).where(Bot.id == bot_id))
    if bot is None:
        raise BotNotFound
    return bot


async def _end_user_id(
    session: AsyncSession, *, caller: BotKeyIdentity, body: SessionCreate
) -> str:
    """A server (secret key) names end users itself; a browser (publishable key) gets a fresh
    anonymous id, or proves the id it names with the owner's HMAC."""
    if body.end_user_id is None:
        return _ANONYMOUS_PREFIX + secrets.token_urlsafe(18)
    if caller.kind is KeyKind.SECRET:
        return body.end_user_id
    secret = await botkeys_service.get_identity_secret(session, bot_id=caller.bot_id)
    expected = end_user_hash(secret, body.end_user_id)
    if not hmac.compare_digest(expected, (body.end_user_hash or "").lower()):
        raise InvalidEndUserHash
    return body.end_user_id
