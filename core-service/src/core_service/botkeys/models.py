"""A bot's keys (only their hashes) and its identity secret."""

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, func
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from core_service.bots.models import utcnow
from core_service.database import Base

__all__ = ["BotIdentitySecret", "BotKey", "KeyKind"]


class KeyKind(StrEnum):
    """Who holds a key: a server (``secret``) or a browser (``publishable``, origin-bound)."""

    SECRET = "secret"  # noqa: S105 - a kind of key, not a secret
    PUBLISHABLE = "publishable"


class BotKey(Base):
    """A key that lets callers other than the owner talk to one bot; the key itself is shown
    once and only its SHA-256 is kept."""

    __tablename__ = "bot_keys"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    bot_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("bots.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    allowed_origins: Mapped[list[str]] = mapped_column(ARRAY(String(255)), default=list)
    rate_limit_per_minute: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now()
    )
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class BotIdentitySecret(Base):
    """The secret a bot's owner signs end-user ids with (``end_user_hash``); made on first use."""

    __tablename__ = "bot_identity_secrets"

    bot_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("bots.id", ondelete="CASCADE"), primary_key=True
    )
    secret: Mapped[str] = mapped_column(String(128))
    rotated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now()
    )


# A bot's keys, newest first: the list query.
Index("ix_bot_keys_bot_id_created_at", BotKey.bot_id, BotKey.created_at.desc())
