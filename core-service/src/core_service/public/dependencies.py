"""``EndUser``: the one way a public route authenticates an end user's session.

The session must be valid for its audience and unexpired, and the key that issued it must still
be in use and pass ``admitted_key`` (its origin, its rate limit): revoking the key ends every
session it issued at once.
"""

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import ColumnElement

from core_service.auth.dependencies import AppSettings
from core_service.botkeys.dependencies import admitted_key
from core_service.conversations import service as conversations_service
from core_service.public.exceptions import InvalidSession
from core_service.public.tokens import session_claims
from core_service.users.models import User

__all__ = ["EndUser", "EndUserIdentity", "get_end_user"]


@dataclass(frozen=True)
class EndUserIdentity:
    """An end user of one bot, and the bot's owner (whose plan pays for the messages)."""

    bot_id: uuid.UUID
    end_user_id: str
    key_id: uuid.UUID
    owner: User

    @property
    def scope(self) -> ColumnElement[bool]:
        """The conversations this end user may use."""
        return conversations_service.held_by(bot_id=self.bot_id, end_user_id=self.end_user_id)


_session_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="EndUserSession",
    description="A session token from `POST /api/v1/public/sessions`.",
)


async def get_end_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_session_bearer)],
    settings: AppSettings,
) -> EndUserIdentity:
    """The end user of a valid session whose key is still in use and admitted; 401, 403 or
    429 otherwise."""
    if credentials is None:
        raise InvalidSession
    claims = session_claims(settings, credentials.credentials)
    found = await admitted_key(request, key_id=claims.key_id)
    if found is None or found[0].bot_id != claims.bot_id:
        raise InvalidSession
    key, owner = found
    return EndUserIdentity(
        bot_id=claims.bot_id, end_user_id=claims.end_user_id, key_id=key.id, owner=owner
    )


EndUser = Annotated[EndUserIdentity, Depends(get_end_user)]
