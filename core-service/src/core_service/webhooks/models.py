"""Webhook endpoints and their deliveries (one row per event and endpoint)."""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from core_service.bots.models import utcnow
from core_service.database import Base

__all__ = ["DeliveryStatus", "Webhook", "WebhookDelivery", "WebhookEvent"]


class WebhookEvent(StrEnum):
    """What an endpoint can subscribe to."""

    DOCUMENT_READY = "document.ready"
    DOCUMENT_FAILED = "document.failed"
    SOURCE_SYNCED = "source.synced"
    SOURCE_FAILED = "source.failed"
    CONVERSATION_MESSAGE = "conversation.message"
    FEEDBACK_CREATED = "feedback.created"


class DeliveryStatus(StrEnum):
    """``pending`` until a 2xx (``delivered``) or the end of the retry window (``failed``)."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class Webhook(Base):
    """An owner's endpoint: all their bots' events, or one bot's (``bot_id``)."""

    __tablename__ = "webhooks"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    owner_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    bot_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("bots.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(Text)
    events: Mapped[list[str]] = mapped_column(ARRAY(String(32)))
    # Kept readable (not hashed): the worker signs every delivery with it.
    secret: Mapped[str] = mapped_column(String(100))
    # The start of the endpoint's current run of failures (null after a 2xx): a run as long
    # as the retry window disables the endpoint.
    failing_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_success_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # While an endpoint is failing, its other deliveries wait until then instead of each
    # spending a timeout on it.
    paused_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now()
    )


class WebhookDelivery(Base):
    """One event for one endpoint: what is sent (the same on every try) and how it went.

    ``bot_id`` has no foreign key: the event of a bot deleted since is still delivered.
    """

    __tablename__ = "webhook_deliveries"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    webhook_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    bot_id: Mapped[uuid.UUID]
    event_id: Mapped[uuid.UUID]
    event: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    response_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now()
    )
    # When the retry window began: the event's time, or the last manual redelivery.
    retry_from: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now()
    )
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# An endpoint's delivery log, newest first.
Index(
    "ix_webhook_deliveries_webhook_id_created_at",
    WebhookDelivery.webhook_id,
    WebhookDelivery.created_at.desc(),
)
