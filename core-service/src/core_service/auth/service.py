"""Register, log in, refresh, log out and change one's own account."""

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from core_service.auth import refresh_tokens
from core_service.auth.exceptions import InvalidCredentials, InvalidRefreshToken
from core_service.auth.passwords import (
    check_password_policy,
    hash_password,
    needs_rehash,
    verify_password,
)
from core_service.auth.schemas import RegisterRequest, TokenPair
from core_service.auth.tokens import issue_access_token
from core_service.config import Settings
from core_service.plans import service as plans_service
from core_service.users import service as users_service
from core_service.users.models import User
from core_service.users.schemas import UserUpdate

__all__ = ["authenticate", "issue_tokens", "logout", "refresh", "register", "update_me"]

_log = structlog.get_logger(__name__)


async def register(session: AsyncSession, *, settings: Settings, data: RegisterRequest) -> User:
    """Create an account on the free plan."""
    check_password_policy(data.password, username=data.username, email=data.email)
    user = await users_service.create_user(
        session,
        username=data.username,
        email=data.email,
        hashed_password=await hash_password(settings, data.password),
        plan=await plans_service.get_free_plan(session),
        first_name=data.first_name,
        last_name=data.last_name,
    )
    _log.info("user_registered", user_id=str(user.id))
    return user


async def authenticate(settings: Settings, *, user: User | None, password: str) -> User:
    """``user`` if active and ``password`` is theirs; one answer and one argon2 run otherwise.

    ``user`` is what ``users_service.find_by_login`` found (None for an unknown login).
    """
    hashed = user.hashed_password if user is not None else None
    verified = await verify_password(settings, hashed=hashed, password=password)
    if user is None or not verified:
        _log.info("login_failed")
        raise InvalidCredentials
    if not user.is_active:
        _log.info("login_refused_inactive", user_id=str(user.id))
        raise InvalidCredentials
    if needs_rehash(settings, user.hashed_password):
        user.hashed_password = await hash_password(settings, password)
        _log.info("password_rehashed", user_id=str(user.id))
    return user


async def issue_tokens(session: AsyncSession, *, settings: Settings, user: User) -> TokenPair:
    """An access token and a refresh token (of a new login family)."""
    access = issue_access_token(settings, user_id=user.id)
    refresh_token = await refresh_tokens.issue(
        session, user_id=user.id, ttl_s=settings.refresh_token_ttl_s
    )
    return TokenPair(
        access_token=access.token, refresh_token=refresh_token, expires_in=access.expires_in
    )


async def refresh(session: AsyncSession, *, settings: Settings, token: str) -> TokenPair:
    """Rotate a refresh token: the old one is spent, a new pair of the same family is issued."""
    spent = await refresh_tokens.rotate(session, token=token)
    user = await users_service.get_user(session, user_id=spent.user_id)
    if user is None or not user.is_active:
        raise InvalidRefreshToken
    access = issue_access_token(settings, user_id=user.id)
    new_refresh = await refresh_tokens.issue(
        session, user_id=user.id, ttl_s=settings.refresh_token_ttl_s, family_id=spent.family_id
    )
    return TokenPair(
        access_token=access.token, refresh_token=new_refresh, expires_in=access.expires_in
    )


async def logout(session: AsyncSession, *, token: str) -> None:
    """Revoke the login that ``token`` belongs to."""
    await refresh_tokens.revoke_token(session, token=token)


async def update_me(
    session: AsyncSession, *, settings: Settings, user: User, changes: UserUpdate
) -> User:
    """Apply the given fields; a new password revokes every refresh token of the user."""
    if changes.email is not None and changes.email.lower() != user.email.lower():
        await users_service.ensure_email_free(session, email=changes.email, except_user_id=user.id)
        user.email = changes.email
    if changes.first_name is not None:
        user.first_name = changes.first_name
    if changes.last_name is not None:
        user.last_name = changes.last_name
    if changes.password is not None:
        check_password_policy(changes.password, username=user.username, email=user.email)
        user.hashed_password = await hash_password(settings, changes.password)
        await refresh_tokens.revoke_for_user(session, user_id=user.id)
        _log.info("password_changed", user_id=str(user.id))
    await users_service.flush_account(session)
    return user
