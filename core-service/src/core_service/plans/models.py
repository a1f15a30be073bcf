"""A subscription plan: its price, its Stripe price and the limits it grants."""

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, Integer, Numeric, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from core_service.auth.clock import utcnow
from core_service.database import Base

__all__ = ["FREE_PLAN_NAME", "SubscriptionPlan"]

FREE_PLAN_NAME = "free"


class SubscriptionPlan(Base):
    """A plan users subscribe to; rows are seeded by migration and edited by staff."""

    __tablename__ = "subscription_plans"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    price: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=Decimal("0.00"))
    description: Mapped[str] = mapped_column(Text, default="")
    features: Mapped[list[Any]] = mapped_column(JSONB, default=list)
    stripe_price_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    max_bots: Mapped[int] = mapped_column(Integer)
    max_documents: Mapped[int] = mapped_column(Integer)
    max_messages_per_month: Mapped[int] = mapped_column(Integer)
    max_upload_mb: Mapped[int] = mapped_column(Integer)
    max_storage_mb: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now(), onupdate=utcnow
    )
