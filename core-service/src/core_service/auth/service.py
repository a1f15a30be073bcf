"""Register, log in, refresh, log out and change one's own account.

No database connection is held while a password is hashed: callers load what they need, end
the transaction (``release``), hash, then write in a new one.
"""

import uuid

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from core_service.auth import refresh_tokens
from core_service.auth.exceptions import (
    InvalidCredentials,
    InvalidRefreshToken,
    WrongCurrentPassword,
)
from core_service.auth.passwords import Passwords, check_password_policy
from core_service.auth.schemas import RegisterRequest, TokenPair
from core_service.auth.tokens import issue_access_token
from core_service.config import Settings
from core_service.plans import service as plans_service
from core_service.users import service as users_service
from core_service.users.models import User
from core_service.users.schemas import UserUpdate

__all__ = [
    "authenticate",
    "end_sessions",
    "issue_tokens",
    "logout",
    "refresh",
    "register",
    "release",
    "update_me",
]

_log = structlog.get_logger(__name__)


async def release(session: AsyncSession) -> None:
    """End the session's transaction so that its connection goes back to the pool.

    Nothing is written before a hash, so this commits nothing; loaded objects stay usable
    (``expire_on_commit=False``) and the next statement takes a connection again.
    """
    await session.commit()


async def register(session: AsyncSession, *, passwords: Passwords, data: RegisterRequest) -> User:
    """Create an account on the free plan (hashed before any statement runs)."""
    check_password_policy(data.password, username=data.username, email=data.email)
    hashed = await passwords.hash(data.password)
    user = await users_service.create_user(
        session,
        username=data.username,
        email=data.email,
        hashed_password=hashed,
        plan=await plans_service.get_free_plan(session),
        first_name=data.first_name,
        last_name=data.last_name,
    )
    _log.info("user_registered", user_id=str(user.id))
    return user


async def authenticate(
    session: AsyncSession, *, passwords: Passwords, user: User | None, password: str
) -> User:
    """``user`` if active and ``password`` is theirs; one answer and one argon2 run otherwise.

    ``user`` is what ``users_service.find_by_login`` found (None for an unknown login); the
    session's transaction is ended before the hash.
    """
    await release(session)
    hashed = user.hashed_password if user is not None else None
    verified = await passwords.verify(hashed=hashed, password=password)
    if user is None or not verified:
        _log.info("login_failed")
        raise InvalidCredentials
    if not user.is_active:
        _log.info("login_refused_inactive", user_id=str(user.id))
        raise InvalidCredentials
    if passwords.needs_rehash(user.hashed_password):
        user.hashed_password = await passwords.hash(password)
        _log.info("password_rehashed", user_id=str(user.id))
    return user


async def _token_pair(
    session: AsyncSession, *, settings: Settings, user: User, family_id: uuid.UUID
) -> TokenPair:
    access = issue_access_token(
        settings, user_id=user.id, epoch=user.token_epoch, session_id=family_id
    )
    refresh_token = await refresh_tokens.issue(
        session, user_id=user.id, ttl_s=settings.refresh_token_ttl_s, family_id=family_id
    )
    return TokenPair(
        access_token=access.token, refresh_token=refresh_token, expires_in=access.expires_in
    )


async def issue_tokens(session: AsyncSession, *, settings: Settings, user: User) -> TokenPair:
    """An access token and a refresh token of a new login."""
    await refresh_tokens.drop_expired(session, user_id=user.id)
    return await _token_pair(session, settings=settings, user=user, family_id=uuid.uuid4())


async def refresh(session: AsyncSession, *, settings: Settings, token: str) -> TokenPair:
    """Rotate a refresh token: the old one is spent, a new pair of the same login is issued."""
    spent = await refresh_tokens.rotate(session, token=token)
    user = await users_service.get_user(session, user_id=spent.user_id)
    if user is None or not user.is_active:
        raise InvalidRefreshToken
    return await _token_pair(session, settings=settings, user=user, family_id=spent.family_id)


async def logout(session: AsyncSession, *, token: str) -> None:
    """Revoke the login that ``token`` belongs to."""
    await refresh_tokens.revoke_token(session, token=token)


async def end_sessions(
    session: AsyncSession, *, user: User, keep_login: uuid.UUID | None = None
) -> None:
    """End the user's access tokens at once (a new token epoch) and revoke their refresh
    tokens, except those of ``keep_login``, which can then fetch a token of the new epoch."""
    user.token_epoch += 1
    await refresh_tokens.revoke_for_user(session, user_id=user.id, except_family=keep_login)


async def update_me(
    session: AsyncSession,
    *,
    passwords: Passwords,
    user: User,
    changes: UserUpdate,
    login: uuid.UUID | None,
) -> User:
    """Apply the given fields. The email and the password change only with the current
    password; a new password ends every other login and every earlier access token.

    The hashes run first, with the transaction ended; the changes are written after them.
    """
    new_email = (
        changes.email if changes.email and changes.email.lower() != user.email.lower() else None
    )
    if new_email is not None or changes.password is not None:
        await _check_current_password(
            session, passwords=passwords, user=user, given=changes.current_password
        )
    new_hash = None
    if changes.password is not None:
        email = new_email or user.email
        check_password_policy(changes.password, username=user.username, email=email)
        new_hash = await passwords.hash(changes.password)
    if new_email is not None:
        await users_service.ensure_email_free(session, email=new_email, except_user_id=user.id)
        user.email = new_email
    _apply_names(user, changes)
    if new_hash is not None:
        user.hashed_password = new_hash
        await end_sessions(session, user=user, keep_login=login)
        _log.info("password_changed", user_id=str(user.id))
    await users_service.flush_account(session)
    return user


def _apply_names(user: User, changes: UserUpdate) -> None:
    if changes.first_name is not None:
        user.first_name = changes.first_name
    if changes.last_name is not None:
        user.last_name = changes.last_name


async def _check_current_password(
    session: AsyncSession, *, passwords: Passwords, user: User, given: str | None
) -> None:
    """``WrongCurrentPassword`` unless ``given`` is the user's password (checked with the
    transaction ended: nothing has been written yet)."""
    if given is None:
        raise WrongCurrentPassword("Changing the email or password needs `current_password`.")
    await release(session)
    if not await passwords.verify(hashed=user.hashed_password, password=given):
        _log.info("current_password_wrong", user_id=str(user.id))
        raise WrongCurrentPassword
