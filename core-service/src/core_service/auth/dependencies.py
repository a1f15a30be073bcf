"""``CurrentUser``, ``CurrentUserId`` and ``StaffUser``: the only ways a route authenticates.

Each checks, on every call, that the bearer token is valid, that its user still exists and is
active, and that the token's epoch is the user's current one (a password change, deactivation
or reactivation moves the epoch on): the rule ``current_token_clause`` states once. No
dependency that checks the token alone is offered, so that no route can forget the rest.
"""

import uuid
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import ColumnElement, and_, bindparam, select
from sqlalchemy.orm import joinedload

from core_service.auth.exceptions import InvalidToken, StaffOnly
from core_service.auth.passwords import Passwords
from core_service.auth.tokens import TokenClaims, VerifiedTokens
from core_service.config import Settings
from core_service.database import DriverStatement, EngineDep, SessionDep
from core_service.users.models import User

__all__ = [
    "AppSettings",
    "CurrentLogin",
    "CurrentUser",
    "CurrentUserId",
    "PasswordsDep",
    "StaffUser",
    "get_app_settings",
    "current_token_clause",
    "get_current_login",
    "get_current_user_id",
    "get_passwords",
    "get_current_user",
    "get_staff_user",
]


async def get_app_settings(request: Request) -> Settings:
    """The settings the app was built with (async: a sync dependency would take a thread)."""
    settings: Settings = request.app.state.settings
    return settings


AppSettings = Annotated[Settings, Depends(get_app_settings)]


async def get_passwords(request: Request) -> Passwords:
    """The app's password hasher, made on first use (one bounded pool per app)."""
    state = request.app.state
    passwords: Passwords | None = getattr(state, "passwords", None)
    if passwords is None:
        passwords = state.passwords = Passwords(state.settings)
    return passwords


PasswordsDep = Annotated[Passwords, Depends(get_passwords)]


class _BearerClaims(OAuth2PasswordBearer):
    """The bearer scheme of the OpenAPI document that also verifies the token's signature and
    registered claims (one dependency instead of two). Private: on its own it says nothing
    about whether the user may still sign in."""

    async def __call__(self, request: Request) -> TokenClaims:  # type: ignore[override]
        token = await super().__call__(request)
        if not token:
            raise InvalidToken
        verified: VerifiedTokens = request.app.state.verified_tokens
        return verified.claims(request.app.state.settings, token)


_bearer_claims = _BearerClaims(
    tokenUrl="/api/v1/auth/login", auto_error=False, scheme_name="OAuth2PasswordBearer"
)


def current_token_clause(user_id: Any, epoch: Any) -> ColumnElement[bool]:
    """The active-user rule as SQL: the user exists, is active, and the token is of the
    user's current epoch."""
    return and_(User.id == user_id, User.is_active.is_(True), User.token_epoch == epoch)


# Built once from the rule, with the token's values bound per request: building the statement
# on every request cost about as much as running it (BENCHMARKS.md, API overhead). The id
# check runs first in its request, so the driver runs it (``DriverStatement``).
_TOKEN_VALUES = current_token_clause(bindparam("user_id"), bindparam("epoch"))
_CURRENT_USER = select(User).options(joinedload(User.subscription_plan)).where(_TOKEN_VALUES)
_CURRENT_USER_ID = DriverStatement.compile(select(User.id).where(_TOKEN_VALUES))


def _token_values(claims: TokenClaims) -> dict[str, Any]:
    return {"user_id": claims.user_id, "epoch": claims.epoch}


async def get_current_user(
    claims: Annotated[TokenClaims, Depends(_bearer_claims)], session: SessionDep
) -> User:
    """The active user the bearer token names (with the plan loaded); 401 otherwise.

    Loading the user on each request is what makes deactivation and a password change take
    effect at once.
    """
    user = await session.scalar(_CURRENT_USER, _token_values(claims))
    if user is None:
        raise InvalidToken
    return user


async def get_current_user_id(
    claims: Annotated[TokenClaims, Depends(_bearer_claims)], engine: EngineDep
) -> uuid.UUID:
    """The id of the active user the bearer token names, checked with the same rule as
    ``CurrentUser`` but without loading the user and its plan; 401 otherwise. For routes that
    need only the id.

    Checked by the driver on a connection of its own, before the route's session (if it has
    one) takes a connection: a route that reads only by the driver opens no session at all.
    """
    found = await _CURRENT_USER_ID.fetch(engine, _token_values(claims))
    if not found:
        raise InvalidToken
    user_id: uuid.UUID = found[0]["id"]
    return user_id


CurrentUserId = Annotated[uuid.UUID, Depends(get_current_user_id)]


CurrentUser = Annotated[User, Depends(get_current_user)]


async def get_current_login(
    user: CurrentUser, claims: Annotated[TokenClaims, Depends(_bearer_claims)]
) -> uuid.UUID | None:
    """The login (refresh-token family) the current user's access token belongs to."""
    del user  # checked: only a current token's login is named
    return claims.session_id


CurrentLogin = Annotated[uuid.UUID | None, Depends(get_current_login)]


async def get_staff_user(user: CurrentUser) -> User:
    """The current user if staff; 403 otherwise."""
    if not user.is_staff:
        raise StaffOnly
    return user


StaffUser = Annotated[User, Depends(get_staff_user)]
