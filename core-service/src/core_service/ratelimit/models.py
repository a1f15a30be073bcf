"""Fixed-window hit counters shared by every replica."""

from datetime import datetime

from sqlalchemy import DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from core_service.database import Base

__all__ = ["RateLimitBucket"]


class RateLimitBucket(Base):
    """Hits on one key (e.g. ``login:addr:<digest>``) in the window ending at ``expires_at``."""

    __tablename__ = "rate_limit_buckets"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    hits: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
