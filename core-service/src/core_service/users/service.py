"""Reading and changing accounts; password hashing lives in ``auth.passwords``."""

import uuid
from collections.abc import Sequence

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from core_service.plans.models import SubscriptionPlan
from core_service.users.exceptions import EmailTaken, UsernameTaken, UserNotFound
from core_service.users.models import User

__all__ = [
    "create_user",
    "ensure_email_free",
    "find_by_login",
    "flush_account",
    "get_user",
    "list_users",
    "require_user",
]


async def get_user(session: AsyncSession, *, user_id: uuid.UUID) -> User | None:
    """The user with its plan loaded, or None."""
    return await session.scalar(
        select(User).options(joinedload(User.subscription_plan)).where(User.id == user_id)
    )


async def require_user(session: AsyncSession, *, user_id: uuid.UUID) -> User:
    """The user with its plan loaded; ``UserNotFound`` otherwise."""
    user = await get_user(session, user_id=user_id)
    if user is None:
        raise UserNotFound
    return user


async def find_by_login(session: AsyncSession, *, login: str) -> User | None:
    """The user whose username or email is ``login`` (ignoring case)."""
    wanted = login.strip().lower()
    return await session.scalar(
        select(User)
        .options(joinedload(User.subscription_plan))
        .where(or_(func.lower(User.username) == wanted, func.lower(User.email) == wanted))
    )


async def ensure_email_free(
    session: AsyncSession, *, email: str, except_user_id: uuid.UUID | None = None
) -> None:
    """``EmailTaken`` when another account uses ``email``."""
    query = select(User.id).where(func.lower(User.email) == email.lower())
    if except_user_id is not None:
        query = query.where(User.id != except_user_id)
    if await session.scalar(query.limit(1)) is not None:
        raise EmailTaken


async def _ensure_username_free(session: AsyncSession, *, username: str) -> None:
    query = select(User.id).where(func.lower(User.username) == username.lower())
    if await session.scalar(query.limit(1)) is not None:
        raise UsernameTaken


async def create_user(
    session: AsyncSession,
    *,
    username: str,
    email: str,
    hashed_password: str,
    plan: SubscriptionPlan,
    first_name: str = "",
    last_name: str = "",
) -> User:
    """Insert a new account on ``plan``; 409 errors for a taken username or email."""
    await _ensure_username_free(session, username=username)
    await ensure_email_free(session, email=email)
    user = User(
        username=username,
        email=email,
        hashed_password=hashed_password,
        first_name=first_name,
        last_name=last_name,
        subscription_plan_id=plan.id,
    )
    user.subscription_plan = plan
    session.add(user)
    await flush_account(session)
    return user


async def flush_account(session: AsyncSession) -> None:
    """Flush, turning a lost race on the unique indexes into a 409."""
    try:
        await session.flush()
    except IntegrityError as error:
        constraint = str(error.orig)
        if "uq_users_email_lower" in constraint:
            raise EmailTaken from None
        if "uq_users_username_lower" in constraint:
            raise UsernameTaken from None
        raise


async def list_users(
    session: AsyncSession, *, limit: int, offset: int
) -> tuple[Sequence[User], int]:
    """A page of users (oldest first) and the total count."""
    total = await session.scalar(select(func.count()).select_from(User)) or 0
    result = await session.scalars(
        select(User)
        .options(joinedload(User.subscription_plan))
        .order_by(User.date_joined, User.id)
        .limit(limit)
        .offset(offset)
    )
    return result.all(), total
