"""``BotKeyCaller``: the one way a route authenticates a bot key.

A bot key is sent as ``Authorization: Bearer sk_…`` or ``pk_…``. The dependency refuses an
unknown or revoked key (401), a publishable key from an origin it does not list or with no
``Origin`` at all (403 ``OriginNotAllowed``), and a key over its per-minute rate limit (429 with
``Retry-After``, counted in PostgreSQL so that every replica agrees). ``admit_key`` is the same
check for requests authenticated by something a key issued (an end-user session).
"""

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from core_service.botkeys import service as botkeys_service
from core_service.botkeys.exceptions import InvalidBotKey, OriginNotAllowed
from core_service.botkeys.models import BotKey, KeyKind
from core_service.database import SessionDep
from core_service.ratelimit.dependencies import count_hit
from core_service.ratelimit.service import Limit
from core_service.widget.origin import from_hosted_page

__all__ = [
    "CORS_ORIGIN_STATE",
    "BotKeyCaller",
    "BotKeyIdentity",
    "admit_key",
    "get_bot_key_caller",
]

# Where an admitted publishable key's origin is left for the public API's CORS headers.
CORS_ORIGIN_STATE = "cors_origin"
_RATE_WINDOW_S = 60


@dataclass(frozen=True)
class BotKeyIdentity:
    """Who is calling with a bot key: the key, its kind, its bot and the bot's owner."""

    key_id: uuid.UUID
    kind: KeyKind
    bot_id: uuid.UUID
    owner_id: uuid.UUID


_bot_key_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="BotKey",
    description="A bot key: `sk_…` (servers) or `pk_…` (browsers, from an allowed origin).",
)


async def admit_key(request: Request, session: AsyncSession, *, key: BotKey) -> None:
    """The checks every use of a key passes: its origin (publishable keys), its rate limit,
    and a note of its use."""
    if KeyKind(key.kind) is KeyKind.PUBLISHABLE:
        origin = request.headers.get("origin")
        allowed = origin is not None and origin in key.allowed_origins
        if not (allowed or from_hosted_page(request)):
            raise OriginNotAllowed
        # Set before the rate limit, so that a 429 is readable by the page that caused it.
        setattr(request.state, CORS_ORIGIN_STATE, origin)
    await count_hit(
        request,
        key=f"botkey:{key.id}",
        limit=Limit(hits=key.rate_limit_per_minute, window_s=_RATE_WINDOW_S),
    )
    await botkeys_service.note_use(session, key=key)


async def get_bot_key_caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bot_key_bearer)],
    session: SessionDep,
) -> BotKeyIdentity:
    """The caller of a valid, admitted bot key; 401, 403 or 429 otherwise."""
    if credentials is None:
        raise InvalidBotKey
    found = await botkeys_service.find_active_key(session, key=credentials.credentials)
    if found is None:
        raise InvalidBotKey
    key, owner = found
    await admit_key(request, session, key=key)
    return BotKeyIdentity(
        key_id=key.id, kind=KeyKind(key.kind), bot_id=key.bot_id, owner_id=owner.id
    )


BotKeyCaller = Annotated[BotKeyIdentity, Depends(get_bot_key_caller)]
