"""``CurrentUser`` and ``StaffUser``: the token is checked and the user reloaded on every call."""

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
    "get_app_settings",
    "get_current_user",
    "get_staff_user",
]

_bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/login", auto_error=False)


async def get_app_settings(request: Request) -> Settings:
    """The settings the app was built with (async: a sync dependency would take a thread)."""
    settings: Settings = request.app.state.settings
    return settings


AppSettings = Annotated[Settings, Depends(get_app_settings)]


async def get_current_user(
    request: Request,
    session: SessionDep,
    settings: AppSettings,
    token: Annotated[str | None, Depends(_bearer)],
) -> User:
    """The active user the bearer token names (with the plan loaded); 401 otherwise.

    Loading the user on each request is what makes deactivation take effect at once.
    """
    if not token:
        raise InvalidToken
    verified: VerifiedTokens = request.app.state.verified_tokens
    user = await users_service.get_user(session, user_id=verified.user_id(settings, token))
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
