"""An evaluation run: its questions, status, per-question results and summary."""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from core_service.bots.models import utcnow
from core_service.database import Base

__all__ = ["Evaluation", "EvaluationStatus"]


class EvaluationStatus(StrEnum):
    """Where the run is: queued, asking the agent, finished, or failed."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    ERROR = "error"


class Evaluation(Base):
    """One run of a question set; it goes with its bot."""

    __tablename__ = "evaluations"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    bot_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("bots.id", ondelete="CASCADE"))
    name: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default=EvaluationStatus.PENDING.value)
    error: Mapped[str | None] = mapped_column(Text)
    # The questions as submitted, and what the worker found: written once, read whole.
    questions: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    results: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now()
    )
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# The bot's evaluations, newest first: the list query.
Index("ix_evaluations_bot_id_created_at", Evaluation.bot_id, Evaluation.created_at.desc())
