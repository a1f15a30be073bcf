"""``CurrentUser`` and ``StaffUser``: the token is checked and the user reloaded on every call."""

import uuid
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from core_service.auth.exceptions import InvalidToken, StaffOnly
from core_service.auth.tokens import VerifiedTokens
from core_service.config import Settings
from core_service.database import SessionDep
from core_service.users import service as users_service
from core_service.users.models import User

__all__ = [
    "AppSettings",
    "CurrentUser",
    "StaffUser",
    "TokenSubject",
    "get_app_settings",
    "get_current_user",
    "get_staff_user",
    "get_token_subject",
]


async def get_app_settings(request: Request) -> Settings:
    """The settings the app was built with (async: a sync dependency would take a thread)."""
    settings: Settings = request.app.state.settings
    return settings


AppSettings = Annotated[Settings, Depends(get_app_settings)]


class _BearerSubject(OAuth2PasswordBearer):
    """The bearer scheme of the OpenAPI document that also checks the token: one dependency.

    The user id a valid bearer token names; 401 otherwise. The user is not loaded: on its own,
    only for routes whose own query also confirms that the user exists and is active (and
    answers 401 when not), so that a hot read path costs one query. Each dependency costs a
    request about as much as the cached token check, hence one class instead of two functions.
    """

    async def __call__(self, request: Request) -> uuid.UUID:  # type: ignore[override]
        token = await super().__call__(request)
        if not token:
            raise InvalidToken
        verified: VerifiedTokens = request.app.state.verified_tokens
        return verified.user_id(request.app.state.settings, token)


get_token_subject = _BearerSubject(
    tokenUrl="/api/v1/auth/login", auto_error=False, scheme_name="OAuth2PasswordBearer"
)

TokenSubject = Annotated[uuid.UUID, Depends(get_token_subject)]


async def get_current_user(user_id: TokenSubject, session: SessionDep) -> User:
    """The active user the bearer token names (with the plan loaded); 401 otherwise.

    Loading the user on each request is what makes deactivation take effect at once.
    """
    user = await users_service.get_user(session, user_id=user_id)
    if user is None or not user.is_active:
        raise InvalidToken
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


async def get_staff_user(user: CurrentUser) -> User:
    """The current user if staff; 403 otherwise."""
    if not user.is_staff:
        raise StaffOnly
    return user


StaffUser = Annotated[User, Depends(get_staff_user)]
