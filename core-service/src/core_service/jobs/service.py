"""Writing jobs (in the caller's transaction) and the worker's claim/lease/finish steps."""

import uuid
from datetime import timedelta
from functools import cache
from typing import Any

from sqlalchemy import (
    CTE,
    ColumnElement,
    Interval,
    Select,
    String,
    and_,
    bindparam,
    delete,
    func,
    literal,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from core_service.bots.models import utcnow
from core_service.jobs.models import Job, JobKind, JobOwner, JobState

__all__ = [
    "cancel_source_syncs",
    "cancel_webhook_delivery",
    "claim_next_job",
    "enqueue_evaluation",
    "enqueue_indexing",
    "enqueue_source_sync",
    "enqueue_vector_deletion",
    "enqueue_webhook_delivery",
    "fail_job",
    "finish_job",
    "record_chunking",
    "release_job",
    "renew_lease",
    "requeue_failed_job",
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


async def enqueue_evaluation(
    session: AsyncSession, *, bot_id: uuid.UUID, evaluation_id: uuid.UUID
) -> Job:
    """Run the evaluation's questions against the bot (written with the evaluation itself)."""
    job = Job(
        kind=JobKind.RUN_EVALUATION.value,
        bot_id=bot_id,
        payload={"evaluation_id": str(evaluation_id)},
    )
    session.add(job)
    await session.flush()
    return job


async def enqueue_webhook_delivery(
    session: AsyncSession, *, bot_id: uuid.UUID, delivery_id: uuid.UUID, delay_s: float = 0
) -> Job:
    """Send a webhook delivery (one try), visible after ``delay_s``.

    The bot is the one the event is about: deliveries take turns between owners like any job.
    """
    job = Job(
        kind=JobKind.DELIVER_WEBHOOK.value,
        bot_id=bot_id,
        payload={"delivery_id": str(delivery_id)},
        visible_after=func.now() + timedelta(seconds=delay_s),
    )
    session.add(job)
    await session.flush()
    return job


async def enqueue_source_sync(
    session: AsyncSession,
    *,
    bot_id: uuid.UUID,
    source_id: uuid.UUID,
    generation: int | None = None,
    delay_s: float = 0.0,
) -> Job:
    """The next step of a web source's sync: a new sync (no ``generation``), or the next batch
    of pages of sync ``generation``. Each batch is a job of its own, so that a big site takes
    turns with everyone else's work."""
    payload: dict[str, Any] = {"source_id": str(source_id), "generation": generation}
    job = Job(kind=JobKind.SYNC_SOURCE.value, bot_id=bot_id, payload=payload)
    if delay_s > 0:
        job.visible_after = utcnow() + timedelta(seconds=delay_s)
    session.add(job)
    await session.flush()
    return job


async def cancel_webhook_delivery(session: AsyncSession, *, delivery_id: uuid.UUID) -> None:
    """Drop the delivery's waiting try (a redelivery replaces it; a running one loses its lease)."""
    await session.execute(
        delete(Job).where(
            Job.kind == JobKind.DELIVER_WEBHOOK.value,
            Job.payload["delivery_id"].astext == str(delivery_id),
        )
    )


async def cancel_source_syncs(session: AsyncSession, *, source_id: uuid.UUID) -> None:
    """Drop the source's waiting and running sync jobs: a worker running one loses its lease."""
    await session.execute(
        delete(Job).where(
            Job.kind == JobKind.SYNC_SOURCE.value,
            Job.payload["source_id"].astext == str(source_id),
        )
    )


_WAITING = (JobState.PENDING, JobState.RUNNING)


def _claimable(job: type[Job], *, visible: bool) -> ColumnElement[bool]:
    """Jobs a worker may claim (the condition of the claim indexes), now if ``visible``."""
    # Literal values, not parameters: a prepared statement's generic plan can use a partial
    # index only when the index's condition is visible in the query text.
    waiting = job.state.in_([literal(s.value, literal_execute=True) for s in _WAITING])
    return and_(waiting, job.visible_after <= func.now()) if visible else waiting


def _next_owner() -> Select[uuid.UUID]:
    """The owner whose turn it is: served longest ago (or never), then oldest visible job first.

    The owners with claimable jobs are found by skipping through the per-owner index one owner
    at a time (PostgreSQL has no loose index scan of its own): the cost grows with the number
    of owners waiting, not with the number of jobs.
    """
    later = aliased(Job)
    first = select(Job.owner_id).where(_claimable(Job, visible=False))
    owners = first.order_by(Job.owner_id).limit(1).cte("owners", recursive=True)
    following = (
        select(later.owner_id)
        .where(_claimable(later, visible=False), later.owner_id > owners.c.owner_id)
        .order_by(later.owner_id)
        .limit(1)
        .scalar_subquery()
    )
    owners = owners.union_all(select(following).where(owners.c.owner_id.is_not(None)))
    oldest = (
        select(func.min(Job.visible_after))
        .where(Job.owner_id == owners.c.owner_id, _claimable(Job, visible=True))
        .scalar_subquery()
    )
    return (
        select(owners.c.owner_id)
        .outerjoin(JobOwner, JobOwner.owner_id == owners.c.owner_id)
        .where(oldest.is_not(None))
        .order_by(JobOwner.last_claimed_at.asc().nulls_first(), oldest)
        .limit(1)
    )


async def claim_next_job(session: AsyncSession, *, worker_id: str, lease_s: float) -> Job | None:
    """Lease a visible job to ``worker_id``, taking turns between owners; others skip it.

    The lease moves ``visible_after`` forward: if this worker dies, the job becomes visible again
    when the lease ends, and ``attempts`` (counted at each claim) tells how often it was tried.
    Choosing the owner, leasing the job and recording the owner's turn are one statement: a
    claim is made for every job, and each round trip it saves is saved on every job.
    """
    lease = timedelta(seconds=lease_s)
    claimed = await session.scalars(_claim_statement(), {"worker_id": worker_id, "lease": lease})
    return claimed.one_or_none()


@cache
def _claim_statement() -> Select[Job]:
    # Built once: composing this statement costs the worker more CPU than running it.
    claimed = (
        update(Job)
        .where(Job.id == _next_job_id())
        .values(
            state=JobState.RUNNING.value,
            locked_by=bindparam("worker_id", type_=String),
            attempts=Job.attempts + 1,
            visible_after=func.now() + bindparam("lease", type_=Interval),
            updated_at=func.now(),
        )
        .returning(Job)
        .cte("claimed")
    )
    return select(aliased(Job, claimed)).add_cte(_mark_served(claimed.c.owner_id))


def _next_job_id() -> ColumnElement[uuid.UUID]:
    """The oldest visible job of the owner whose turn it is, that no one else has locked.

    Another worker may have locked the owner's last visible jobs since: then any visible job.
    COALESCE evaluates its second subquery only when the first found nothing.
    """
    turn = _next_owner().scalar_subquery()
    return func.coalesce(_oldest_unlocked(Job.owner_id == turn), _oldest_unlocked(None))


def _oldest_unlocked(condition: ColumnElement[bool] | None) -> ColumnElement[uuid.UUID]:
    claimable = select(Job.id).where(_claimable(Job, visible=True))
    if condition is not None:
        claimable = claimable.where(condition)
    return (
        claimable.order_by(Job.visible_after).limit(1).with_for_update(skip_locked=True)
    ).scalar_subquery()


def _mark_served(owner_id: ColumnElement[uuid.UUID]) -> CTE:
    """The owner of the claimed job was served now (a statement for the claim's WITH)."""
    # clock_timestamp, not now(): claims in concurrent transactions must still be ordered.
    served_at = func.clock_timestamp()
    rows = select(owner_id, served_at)
    upsert = (
        insert(JobOwner)
        .from_select([JobOwner.owner_id, JobOwner.last_claimed_at], rows)
        .on_conflict_do_update(
            index_elements=[JobOwner.owner_id], set_={"last_claimed_at": served_at}
        )
    )
    return upsert.cte("served")


def _held_by(job_id: uuid.UUID, worker_id: str) -> ColumnElement[bool]:
    """The job is still leased to ``worker_id``: every transition of a claimed job checks it.

    A worker whose lease lapsed may still be working; once another worker holds the job, the
    first one's writes must change nothing.
    """
    return and_(Job.id == job_id, Job.locked_by == worker_id, Job.state == JobState.RUNNING.value)


async def renew_lease(
    session: AsyncSession, *, job_id: uuid.UUID, worker_id: str, lease_s: float
) -> bool:
    """Extend the lease while working; False when another worker has taken the job over."""
    result = await session.execute(
        update(Job)
        .where(_held_by(job_id, worker_id))
        .values(visible_after=func.now() + timedelta(seconds=lease_s))
        .returning(Job.id)
    )
    return result.first() is not None


async def finish_job(session: AsyncSession, *, job_id: uuid.UUID, worker_id: str) -> bool:
    """The job is done: it leaves the outbox. False if ``worker_id`` no longer holds it."""
    result = await session.execute(delete(Job).where(_held_by(job_id, worker_id)).returning(Job.id))
    return result.first() is not None


async def retry_job_later(
    session: AsyncSession, *, job_id: uuid.UUID, worker_id: str, delay_s: float, error: str
) -> bool:
    """Put the job back, visible again after ``delay_s``. False if ``worker_id`` lost it."""
    result = await session.execute(
        update(Job)
        .where(_held_by(job_id, worker_id))
        .values(
            state=JobState.PENDING.value,
            locked_by=None,
            last_error=error[:2_000],
            visible_after=func.now() + timedelta(seconds=delay_s),
            updated_at=func.now(),
        )
        .returning(Job.id)
    )
    return result.first() is not None


async def release_job(session: AsyncSession, *, job_id: uuid.UUID, worker_id: str) -> bool:
    """Give an unfinished job back at once (graceful stop); the attempt is not counted."""
    result = await session.execute(
        update(Job)
        .where(_held_by(job_id, worker_id))
        .values(
            state=JobState.PENDING.value,
            locked_by=None,
            attempts=func.greatest(Job.attempts - 1, 0),
            visible_after=func.now(),
            updated_at=func.now(),
        )
        .returning(Job.id)
    )
    return result.first() is not None


async def fail_job(session: AsyncSession, *, job_id: uuid.UUID, worker_id: str, error: str) -> bool:
    """Give up: the job stays as ``failed`` for inspection, never claimed again.

    False (nothing changed) if ``worker_id`` no longer holds the job.
    """
    result = await session.execute(
        update(Job)
        .where(_held_by(job_id, worker_id))
        .values(
            state=JobState.FAILED.value,
            locked_by=None,
            last_error=error[:2_000],
            updated_at=func.now(),
        )
        .returning(Job.id)
    )
    return result.first() is not None


async def requeue_failed_job(session: AsyncSession, *, job_id: uuid.UUID) -> Job | None:
    """Put a failed job back in the queue with its attempts reset; None if it is not failed."""
    requeued = await session.scalars(
        update(Job)
        .where(Job.id == job_id, Job.state == JobState.FAILED.value)
        .values(
            state=JobState.PENDING.value,
            attempts=0,
            locked_by=None,
            visible_after=func.now(),
            updated_at=func.now(),
        )
        .returning(Job)
    )
    return requeued.one_or_none()
