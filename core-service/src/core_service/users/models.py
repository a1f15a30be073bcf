"""The user account."""

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core_service.auth.clock import utcnow
from core_service.database import Base
from core_service.plans.models import SubscriptionPlan

__all__ = ["SubscriptionStatus", "User"]


class SubscriptionStatus(StrEnum):
    """Stripe's subscription states, plus ``active`` for the free plan."""

    ACTIVE = "active"
    TRIALING = "trialing"
    PAST_DUE = "past_due"
    INCOMPLETE = "incomplete"
    INCOMPLETE_EXPIRED = "incomplete_expired"
    UNPAID = "unpaid"
    PAUSED = "paused"
    CANCELED = "canceled"


class User(Base):
    """A person who owns bots; usernames and emails are unique ignoring case."""

    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    username: Mapped[str] = mapped_column(String(150))
    email: Mapped[str] = mapped_column(String(320))
    hashed_password: Mapped[str] = mapped_column(String(255))
    first_name: Mapped[str] = mapped_column(String(150), default="")
    last_name: Mapped[str] = mapped_column(String(150), default="")
    is_staff: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Access tokens carry the epoch they were issued in; bumping it (password change,
    # deactivation, reactivation) ends every earlier token at once instead of at its expiry.
    token_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    date_joined: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now(), onupdate=utcnow
    )
    subscription_status: Mapped[str] = mapped_column(
        String(32), default=SubscriptionStatus.ACTIVE.value
    )
    subscription_plan_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("subscription_plans.id", ondelete="RESTRICT"), index=True
    )
    stripe_customer_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    stripe_subscription_id: Mapped[str | None] = mapped_column(String(255))
    # Stripe may deliver events out of order; older ones than this are ignored.
    stripe_event_created_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    subscription_plan: Mapped[SubscriptionPlan | None] = relationship(lazy="raise")


# Case-insensitive uniqueness: "Alice" and "alice" are the same account.
Index("uq_users_username_lower", func.lower(User.username), unique=True)
Index("uq_users_email_lower", func.lower(User.email), unique=True)
