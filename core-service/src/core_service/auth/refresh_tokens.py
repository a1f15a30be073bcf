"""Opaque refresh tokens: issued, rotated and revoked by family; only digests are stored."""

import hashlib
import secrets
import uuid
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core_service.auth.clock import utcnow
from core_service.auth.exceptions import InvalidRefreshToken, RefreshTokenReused
from core_service.auth.models import RefreshToken

__all__ = ["drop_expired", "issue", "revoke_family", "revoke_for_user", "revoke_token", "rotate"]


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def drop_expired(session: AsyncSession, *, user_id: uuid.UUID) -> None:
    """Delete the user's expired tokens (a new login is a good moment for it)."""
    await session.execute(
        delete(RefreshToken).where(
            RefreshToken.user_id == user_id, RefreshToken.expires_at < utcnow()
        )
    )


async def issue(
    session: AsyncSession, *, user_id: uuid.UUID, ttl_s: int, family_id: uuid.UUID
) -> str:
    """A new refresh token of the login (rotation family) ``family_id``."""
    token = secrets.token_urlsafe(32)
    session.add(
        RefreshToken(
            user_id=user_id,
            family_id=family_id,
            token_hash=_digest(token),
            expires_at=utcnow() + timedelta(seconds=ttl_s),
        )
    )
    await session.flush()
    return token


async def rotate(session: AsyncSession, *, token: str) -> RefreshToken:
    """Mark a live token used and return it; a second use revokes its family.

    Raises ``RefreshTokenReused`` after revoking (the caller must commit before answering).
    """
    row = await session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == _digest(token)).with_for_update()
    )
    now = utcnow()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        raise InvalidRefreshToken
    if row.rotated_at is not None:
        await revoke_family(session, family_id=row.family_id)
        raise RefreshTokenReused
    row.rotated_at = now
    await session.flush()
    return row


async def revoke_family(session: AsyncSession, *, family_id: uuid.UUID) -> None:
    """Revoke every token of one login."""
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


async def revoke_token(session: AsyncSession, *, token: str) -> None:
    """Revoke the family of ``token`` if it is ours (logout); unknown tokens change nothing."""
    family_id = await session.scalar(
        select(RefreshToken.family_id).where(RefreshToken.token_hash == _digest(token))
    )
    if family_id is not None:
        await revoke_family(session, family_id=family_id)


async def revoke_for_user(
    session: AsyncSession, *, user_id: uuid.UUID, except_family: uuid.UUID | None = None
) -> None:
    """Revoke every refresh token of a user (deactivation, password change), except those of
    the login ``except_family``."""
    query = update(RefreshToken).where(
        RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None)
    )
    if except_family is not None:
        query = query.where(RefreshToken.family_id != except_family)
    await session.execute(query.values(revoked_at=utcnow()))
