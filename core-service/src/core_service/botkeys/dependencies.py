"""``BotKeyCaller``: the one way a route authenticates a bot key.

A bot key is sent as ``Authorization: Bearer sk_…`` or ``pk_…``. The dependency refuses an
unknown or revoked key (401), a publishable key from an origin it does not list or with no
``Origin`` at all (403 ``OriginNotAllowed``), and a key over its per-minute rate limit (429 with
``Retry-After``, counted in PostgreSQL so that every replica agrees). ``admitted_key`` is the same
check for requests authenticated by something a key issued (an end-user session).
"""

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core_service.botkeys import service as botkeys_service
from core_service.botkeys.exceptions import InvalidBotKey, OriginNotAllowed
from core_service.botkeys.models import BotKey, KeyKind
from core_service.ratelimit.dependencies import count_hit_autocommit
from core_service.ratelimit.service import Limit
from core_service.users.models import User

__all__ = [
    "CORS_ORIGIN_STATE",
    "BotKeyCaller",
    "BotKeyIdentity",
    "admitted_key",
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


async def admitted_key(
    request: Request, *, key: str | None = None, key_id: uuid.UUID | None = None
) -> tuple[BotKey, User] | None:
    """The key in use given by its value or id, and its bot's owner, once it passes the checks
    every use of a key passes: its origin (publishable keys) and its rate limit. None when no
    such key is in use.

    On its own autocommit connection, never the request's (a request holding a pooled
    connection while it waits for a second one would starve the pool under load), so each
    statement commits at once: the key's rate-limit bucket, shared by all its requests, stays
    locked only for the statement.
    """
    sessions: async_sessionmaker[AsyncSession] = request.app.state.read_sessionmaker
    async with sessions() as session:
        found = await botkeys_service.find_active_key(session, key=key, key_id=key_id)
        if found is None:
            return None
        _check_origin(request, found[0])
        await botkeys_service.note_use(session, key=found[0])
        await count_hit_autocommit(
            session,
            key=f"botkey:{found[0].id}",
            limit=Limit(hits=found[0].rate_limit_per_minute, window_s=_RATE_WINDOW_S),
        )
    return found


def _check_origin(request: Request, key: BotKey) -> None:
    if KeyKind(key.kind) is not KeyKind.PUBLISHABLE:
        return
    origin = request.headers.get("origin")
    if origin is None or origin not in key.allowed_origins:
        raise OriginNotAllowed
    # Left for the CORS headers before the rate limit, so that a 429 is readable by the page.
    setattr(request.state, CORS_ORIGIN_STATE, origin)


async def get_bot_key_caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bot_key_bearer)],
) -> BotKeyIdentity:
    """The caller of a valid, admitted bot key; 401, 403 or 429 otherwise."""
    if credentials is None:
        raise InvalidBotKey
    found = await admitted_key(request, key=credentials.credentials)
    if found is None:
        raise InvalidBotKey
    key, owner = found
    return BotKeyIdentity(
        key_id=key.id, kind=KeyKind(key.kind), bot_id=key.bot_id, owner_id=owner.id
    )


BotKeyCaller = Annotated[BotKeyIdentity, Depends(get_bot_key_caller)]
