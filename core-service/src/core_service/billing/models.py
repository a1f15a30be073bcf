"""Stripe events already applied, so that redeliveries change nothing."""

from datetime import datetime

from sqlalchemy import DateTime, String, func
from sqlalchemy.orm import Mapped, mapped_column

from core_service.auth.clock import utcnow
from core_service.database import Base

__all__ = ["StripeEvent"]


class StripeEvent(Base):
    """One processed webhook event, keyed by Stripe's event id."""

    __tablename__ = "stripe_events"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now()
    )
