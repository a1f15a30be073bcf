"""A bot: a user's chatbot with its configuration."""

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from core_service.database import Base

__all__ = ["Bot", "bot_namespace", "utcnow"]


def utcnow() -> datetime:
    """Now, in UTC."""
    return datetime.now(UTC)


def bot_namespace(bot_id: uuid.UUID) -> str:
    """The agent namespace holding the vectors of bot ``bot_id``."""
    return f"bot-{bot_id}"


class Bot(Base):
    """A chatbot; its documents, conversations and vectors go with it."""

    __tablename__ = "bots"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    configuration: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now(), onupdate=utcnow
    )

    @property
    def namespace(self) -> str:
        """The agent namespace holding this bot's vectors."""
        return bot_namespace(self.id)


# The owner's bots, newest first: the list query.
Index("ix_bots_owner_id_created_at", Bot.owner_id, Bot.created_at.desc())
