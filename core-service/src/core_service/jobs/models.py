"""The outbox table the worker drains."""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import DateTime, FetchedValue, Index, Integer, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from core_service.bots.models import utcnow
from core_service.database import Base

__all__ = ["Job", "JobKind", "JobOwner", "JobState"]


class JobKind(StrEnum):
    """What a job does."""

    INDEX_DOCUMENT = "index_document"
    DELETE_VECTORS = "delete_vectors"
    RUN_EVALUATION = "run_evaluation"
    DELIVER_WEBHOOK = "deliver_webhook"
    SYNC_SOURCE = "sync_source"


class JobState(StrEnum):
    """``pending`` and ``running`` jobs are claimable once ``visible_after`` passed."""

    PENDING = "pending"
    RUNNING = "running"
    FAILED = "failed"


class Job(Base):
    """One unit of background work.

    No foreign keys: a vector-deletion job must outlive the bot or document it cleans up after.
    A claimed job is leased: ``visible_after`` moves to the end of the lease, so the job of a
    worker that died becomes claimable again by itself.
    """

    __tablename__ = "jobs"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    kind: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16), default=JobState.PENDING.value)
    bot_id: Mapped[uuid.UUID]
    # The tenant the job works for: claims take turns between owners (see JobOwner). The
    # database fills it in from the bot on insert (trigger ``jobs_owner``), so no code that
    # enqueues, ORM or plain SQL, has to look the owner up; a job whose bot is already gone
    # (cleanup after a deletion) counts as a tenant of its own.
    owner_id: Mapped[uuid.UUID] = mapped_column(server_default=FetchedValue())
    document_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    visible_after: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now()
    )
    locked_by: Mapped[str | None] = mapped_column(String(200))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now(), onupdate=utcnow
    )


class JobOwner(Base):
    """When each owner was last served a job: claims go to the owner served longest ago.

    Without it the queue serves in order, and one owner's thousand documents make everyone
    else's wait behind them.
    """

    __tablename__ = "job_owners"

    owner_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    last_claimed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


_CLAIMABLE = text("state IN ('pending', 'running')")

# The claim queries: claimable jobs by visibility time, overall and per owner (the per-owner
# index also lists the owners that have claimable jobs). Failed jobs are kept out of both.
Index("ix_jobs_claimable", Job.visible_after, postgresql_where=_CLAIMABLE)
Index("ix_jobs_claimable_by_owner", Job.owner_id, Job.visible_after, postgresql_where=_CLAIMABLE)
