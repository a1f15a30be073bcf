"""Making, finding and revoking bot keys; the bot's identity secret."""

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import ColumnElement, Select, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core_service.botkeys.exceptions import TooManyBotKeys
from core_service.botkeys.models import BotIdentitySecret, BotKey, KeyKind
from core_service.botkeys.schemas import BotKeyCreate
from core_service.bots.models import Bot, utcnow
from core_service.pagination import PageParams
from core_service.users.models import User

__all__ = [
    "MAX_KEYS_PER_BOT",
    "IssuedKey",
    "create_key",
    "find_active_key",
    "get_identity_secret",
    "hash_key",
    "list_keys",
    "note_use",
    "revoke_key",
    "rotate_identity_secret",
]

# Far more than a bot's sites, apps and backends need; a bound on what one owner can pile up.
MAX_KEYS_PER_BOT = 25
_KEY_PREFIXES = {KeyKind.SECRET: "sk_", KeyKind.PUBLISHABLE: "pk_"}
_SHOWN_PREFIX_CHARS = 11
# last_used_at is a hint for the owner, not an audit log: written at most this often per key.
_LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class IssuedKey:
    """A stored key and the key itself (which is not stored)."""

    row: BotKey
    key: str


def hash_key(key: str) -> str:
    """The stored form of a key: its keys are 256 random bits, so a fast hash suffices."""
    return hashlib.sha256(key.encode()).hexdigest()


async def create_key(session: AsyncSession, *, bot: Bot, data: BotKeyCreate) -> IssuedKey:
    """A new key for ``bot``; ``TooManyBotKeys`` when it has ``MAX_KEYS_PER_BOT`` in use."""
    # The bot's row lock makes concurrent requests count one after the other.
    await session.execute(select(Bot.id).where(Bot.id == bot.id).with_for_update())
    in_use = await session.scalar(
        select(func.count()).select_from(BotKey).where(*_in_use_by(bot.id))
    )
    if (in_use or 0) >= MAX_KEYS_PER_BOT:
        raise TooManyBotKeys
    kind = KeyKind(data.kind)
    key = _KEY_PREFIXES[kind] + secrets.token_urlsafe(32)
    row = BotKey(
        bot_id=bot.id,
        name=data.name,
        kind=kind.value,
        prefix=key[:_SHOWN_PREFIX_CHARS],
        key_hash=hash_key(key),
        allowed_origins=data.allowed_origins,
        rate_limit_per_minute=data.rate_limit_per_minute,
    )
    session.add(row)
    await session.flush()
    return IssuedKey(row=row, key=key)


def _in_use_by(bot_id: uuid.UUID) -> tuple[ColumnElement[bool], ...]:
    return (BotKey.bot_id == bot_id, BotKey.revoked_at.is_(None))


async def list_keys(
    session: AsyncSession, *, bot_id: uuid.UUID, page: PageParams
) -> tuple[list[BotKey], int]:
    """One page of the bot's keys in use, newest first, and how many there are."""
    where = _in_use_by(bot_id)
    total = await session.scalar(select(func.count()).select_from(BotKey).where(*where))
    keys = await session.scalars(
        select(BotKey)
        .where(*where)
        .order_by(BotKey.created_at.desc(), BotKey.id)
        .limit(page.limit)
        .offset(page.offset)
    )
    return list(keys), total or 0


async def revoke_key(session: AsyncSession, *, bot_id: uuid.UUID, key_id: uuid.UUID) -> bool:
    """Revoke one of the bot's keys; False when it has no such key in use."""
    revoked = await session.execute(
        update(BotKey)
        .where(BotKey.id == key_id, BotKey.bot_id == bot_id, BotKey.revoked_at.is_(None))
        .values(revoked_at=func.now())
        .returning(BotKey.id)
    )
    return revoked.first() is not None


def _active_keys() -> Select[BotKey, User]:
    """Keys in use whose bot's owner may still use the service, with that owner."""
    return (
        select(BotKey, User)
        .join(Bot, Bot.id == BotKey.bot_id)
        .join(User, User.id == Bot.owner_id)
        .where(BotKey.revoked_at.is_(None), User.is_active.is_(True))
    )


async def find_active_key(
    session: AsyncSession, *, key: str | None = None, key_id: uuid.UUID | None = None
) -> tuple[BotKey, User] | None:
    """The key in use given by its value or its id, and its bot's owner; None otherwise."""
    if key is None and key_id is None:
        return None
    query = _active_keys()
    query = query.where(BotKey.key_hash == hash_key(key)) if key else query
    query = query.where(BotKey.id == key_id) if key_id else query
    row = (await session.execute(query)).one_or_none()
    return None if row is None else (row[0], row[1])


async def note_use(session: AsyncSession, *, key: BotKey) -> None:
    """Record that the key was used, at most once a minute (a write per request would make
    every request of a busy key queue on its row)."""
    if key.last_used_at is not None and utcnow() - key.last_used_at < _LAST_USED_RESOLUTION:
        return
    await session.execute(
        update(BotKey)
        .where(BotKey.id == key.id)
        .where(
            (BotKey.last_used_at.is_(None))
            | (BotKey.last_used_at < func.now() - _LAST_USED_RESOLUTION)
        )
        .values(last_used_at=func.now())
    )


async def get_identity_secret(session: AsyncSession, *, bot_id: uuid.UUID) -> str:
    """The bot's identity secret, made on first use."""
    await session.execute(
        insert(BotIdentitySecret)
        .values(bot_id=bot_id, secret=_new_identity_secret())
        .on_conflict_do_nothing(index_elements=[BotIdentitySecret.bot_id])
    )
    secret = await session.scalar(
        select(BotIdentitySecret.secret).where(BotIdentitySecret.bot_id == bot_id)
    )
    assert secret is not None  # noqa: S101 - inserted just above
    return secret


async def rotate_identity_secret(session: AsyncSession, *, bot_id: uuid.UUID) -> str:
    """A new identity secret for the bot; hashes made with the old one stop working."""
    secret = _new_identity_secret()
    await session.execute(
        insert(BotIdentitySecret)
        .values(bot_id=bot_id, secret=secret)
        .on_conflict_do_update(
            index_elements=[BotIdentitySecret.bot_id],
            set_={"secret": secret, "rotated_at": func.now()},
        )
    )
    return secret


def _new_identity_secret() -> str:
    return "ids_" + secrets.token_urlsafe(32)
