"""Writing jobs (in the caller's transaction) and the worker's claim/lease/finish steps."""

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core_service.jobs.models import Job, JobKind, JobState

__all__ = [
    "claim_next_job",
    "enqueue_indexing",
    "enqueue_vector_deletion",
    "fail_job",
    "finish_job",
    "record_chunking",
    "release_job",
    "renew_lease",
    "retry_job_later",
]


async def enqueue_indexing(
    session: AsyncSession, *, bot_id: uuid.UUID, document_id: uuid.UUID
) -> Job:
    """Extract, chunk and index the document from its original file.

    Earlier indexing jobs of the document, pending or running, are superseded: their rows go,
    so a worker still running one loses its lease at its next step and stops. The vectors they
    had replaced but not yet deleted (``stale_vector_ids``) are carried over to the new job.
    """
    superseded = await session.scalars(
        delete(Job)
        .where(Job.document_id == document_id, Job.kind == JobKind.INDEX_DOCUMENT.value)
        .returning(Job.payload)
    )
    stale = [vector_id for payload in superseded for vector_id in _stale_vector_ids(payload)]
    job = Job(
        kind=JobKind.INDEX_DOCUMENT.value,
        bot_id=bot_id,
        document_id=document_id,
        payload={"stale_vector_ids": list(dict.fromkeys(stale))},
    )
    session.add(job)
    await session.flush()
    return job


def _stale_vector_ids(payload: dict[str, Any]) -> list[str]:
    return [str(vector_id) for vector_id in payload.get("stale_vector_ids") or []]


async def record_chunking(
    session: AsyncSession, *, job_id: uuid.UUID, worker_id: str, stale_vector_ids: list[str]
) -> bool:
    """On the indexing job ``worker_id`` holds: its chunks are written, these vectors are stale.

    Written with the chunk replacement itself, so that a retry of the job goes straight to
    indexing, and a job that supersedes this one inherits the deletions (``enqueue_indexing``).
    False when the job is no longer this worker's.
    """
    recorded = await session.execute(
        update(Job)
        .where(Job.id == job_id, Job.locked_by == worker_id)
        .values(payload={"stale_vector_ids": stale_vector_ids, "chunked": True})
        .returning(Job.id)
    )
    return recorded.first() is not None


async def enqueue_vector_deletion(
    session: AsyncSession, *, bot_id: uuid.UUID, document_id: uuid.UUID | None = None
) -> Job:
    """Delete a document's vectors, or (without ``document_id``) the bot's whole namespace."""
    job = Job(kind=JobKind.DELETE_VECTORS.value, bot_id=bot_id, document_id=document_id)
    session.add(job)
    await session.flush()
    return job


async def claim_next_job(session: AsyncSession, *, worker_id: str, lease_s: float) -> Job | None:
    """Lease the oldest visible job to ``worker_id``; other workers skip it while it is locked.

    The lease moves ``visible_after`` forward: if this worker dies, the job becomes visible again
    when the lease ends, and ``attempts`` tells how often it was tried.
    """
    claimable = (
        select(Job.id)
        .where(
            Job.state.in_([JobState.PENDING.value, JobState.RUNNING.value]),
            Job.visible_after <= func.now(),
        )
        .order_by(Job.visible_after)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    claimed = await session.scalars(
        update(Job)
        .where(Job.id == claimable)
        .values(
            state=JobState.RUNNING.value,
            locked_by=worker_id,
            attempts=Job.attempts + 1,
            visible_after=func.now() + timedelta(seconds=lease_s),
            updated_at=func.now(),
        )
        .returning(Job)
    )
    return claimed.one_or_none()


async def renew_lease(
    session: AsyncSession, *, job_id: uuid.UUID, worker_id: str, lease_s: float
) -> bool:
    """Extend the lease while working; False when another worker has taken the job over."""
    result = await session.execute(
        update(Job)
        .where(Job.id == job_id, Job.locked_by == worker_id, Job.state == JobState.RUNNING.value)
        .values(visible_after=func.now() + timedelta(seconds=lease_s))
        .returning(Job.id)
    )
    return result.first() is not None


async def finish_job(
    session: AsyncSession, *, job_id: uuid.UUID, worker_id: str | None = None
) -> bool:
    """The job is done: it leaves the outbox. False if ``worker_id`` no longer holds it."""
    statement = delete(Job).where(Job.id == job_id)
    if worker_id is not None:
        statement = statement.where(Job.locked_by == worker_id)
    return (await session.execute(statement.returning(Job.id))).first() is not None


async def retry_job_later(
    session: AsyncSession, *, job_id: uuid.UUID, delay_s: float, error: str
) -> None:
    """Put the job back, visible again after ``delay_s``."""
    await session.execute(
        update(Job)
        .where(Job.id == job_id)
        .values(
            state=JobState.PENDING.value,
            locked_by=None,
            last_error=error[:2_000],
            visible_after=func.now() + timedelta(seconds=delay_s),
        )
    )


async def release_job(session: AsyncSession, *, job_id: uuid.UUID, worker_id: str) -> None:
    """Give an unfinished job back at once (graceful stop); the attempt is not counted."""
    await session.execute(
        update(Job)
        .where(Job.id == job_id, Job.locked_by == worker_id)
        .values(
            state=JobState.PENDING.value,
            locked_by=None,
            attempts=func.greatest(Job.attempts - 1, 0),
            visible_after=func.now(),
        )
    )


async def fail_job(session: AsyncSession, *, job_id: uuid.UUID, error: str) -> None:
    """Give up: the job stays in the table as ``failed`` for inspection, never claimed again."""
    await session.execute(
        update(Job)
        .where(Job.id == job_id)
        .values(state=JobState.FAILED.value, locked_by=None, last_error=error[:2_000])
    )
