"""The usage ledger: one counter per user, metric and period."""

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column

from core_service.auth.clock import utcnow
from core_service.database import Base

__all__ = ["LIFETIME_PERIOD", "UsageCounter"]

LIFETIME_PERIOD = "all"
"""The period of metrics that never reset (bots, documents, stored bytes)."""


class UsageCounter(Base):
    """How much of one metric a user used in one period (``YYYY-MM`` or ``all``)."""

    __tablename__ = "usage_counters"
    __table_args__ = (CheckConstraint("amount >= 0", name="amount_not_negative"),)

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    metric: Mapped[str] = mapped_column(String(32), primary_key=True)
    period: Mapped[str] = mapped_column(String(16), primary_key=True)
    amount: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now(), onupdate=utcnow
    )
