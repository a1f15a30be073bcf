"""Giving up on a job: its document, evaluation or delivery learns why; the job stays."""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from core_service.documents import service as documents_service
from core_service.evaluations import service as evaluations_service
from core_service.jobs import service as jobs_service
from core_service.jobs.models import Job, JobKind
from core_service.sources import outcome as source_outcome
from core_service.webhooks import events as webhook_events
from core_service.webhooks.delivery import give_up_delivery
from core_service.webhooks.models import WebhookEvent

__all__ = ["give_up"]


async def give_up(session: AsyncSession, *, job: Job, worker_id: str, reason: str) -> bool:
    """Mark the job failed and its document or evaluation ``error`` with ``reason``.

    False, changing nothing, when ``worker_id`` no longer holds the job: the document is
    another worker's business then.
    """
    if not await jobs_service.fail_job(session, job_id=job.id, worker_id=worker_id, error=reason):
        return False
    if job.kind == JobKind.INDEX_DOCUMENT.value and job.document_id is not None:
        document_id = job.document_id
        if await documents_service.mark_failed(session, document_id=document_id, reason=reason):
            await webhook_events.emit_document_event(
                session,
                bot_id=job.bot_id,
                document_id=document_id,
                event=WebhookEvent.DOCUMENT_FAILED,
            )
    elif job.kind == JobKind.RUN_EVALUATION.value:
        evaluation_id = uuid.UUID(job.payload["evaluation_id"])
        await evaluations_service.fail_run(session, evaluation_id=evaluation_id, reason=reason)
    elif job.kind == JobKind.DELIVER_WEBHOOK.value:
        delivery_id = uuid.UUID(job.payload["delivery_id"])
        await give_up_delivery(session, delivery_id=delivery_id, reason=reason)
    elif job.kind == JobKind.SYNC_SOURCE.value:
        source_id = uuid.UUID(job.payload["source_id"])
        await source_outcome.mark_sync_failed(session, source_id=source_id, reason=reason)
    return True
