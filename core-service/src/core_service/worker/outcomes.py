"""Giving up on a job: the document or evaluation learns why, the job stays for inspection."""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from core_service.documents import service as documents_service
from core_service.evaluations import service as evaluations_service
from core_service.jobs import service as jobs_service
from core_service.jobs.models import Job, JobKind
from core_service.sources import sync as sources_sync

__all__ = ["give_up"]


async def give_up(session: AsyncSession, *, job: Job, worker_id: str, reason: str) -> bool:
    """Mark the job failed and its document or evaluation ``error`` with ``reason``.

    False, changing nothing, when ``worker_id`` no longer holds the job: the document is
    another worker's business then.
    """
    if not await jobs_service.fail_job(session, job_id=job.id, worker_id=worker_id, error=reason):
        return False
    if job.kind == JobKind.INDEX_DOCUMENT.value and job.document_id is not None:
        await documents_service.mark_failed(session, document_id=job.document_id, reason=reason)
    elif job.kind == JobKind.RUN_EVALUATION.value:
        evaluation_id = uuid.UUID(job.payload["evaluation_id"])
        await evaluations_service.fail_run(session, evaluation_id=evaluation_id, reason=reason)
    elif job.kind == JobKind.SYNC_SOURCE.value:
        source_id = uuid.UUID(job.payload["source_id"])
        await sources_sync.mark_sync_failed(session, source_id=source_id, reason=reason)
    return True
