"""What each kind of job does against the agent; run by the worker under a lease."""

import uuid
from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chatsphere_contracts.v1 import DeleteRequest, IndexChunk, UpsertRequest
from chatsphere_contracts.v1.limits import MAX_IDS_PER_DELETE
from core_service.agent_client.client import AgentClient
from core_service.documents.models import Chunk, Document, DocumentStatus
from core_service.jobs import service as jobs_service
from core_service.jobs.models import Job, JobKind

__all__ = ["JobContext", "handle_job"]

RenewLease = Callable[[], Awaitable[bool]]


class LeaseLost(Exception):
    """Another worker took the job over (this one was too slow); stop without finishing it."""


class JobContext:
    """What a handler needs: the database, the agent, the batch size and the lease it holds."""

    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        agent: AgentClient,
        batch_size: int,
        renew_lease: RenewLease,
        worker_id: str,
    ) -> None:
        self.worker_id = worker_id
        self.sessionmaker = sessionmaker
        self.agent = agent
        self.batch_size = batch_size
        self.renew_lease = renew_lease


async def handle_job(context: JobContext, job: Job) -> None:
    """Do the job's work; agent failures propagate for the worker to retry."""
    if job.kind == JobKind.INDEX_DOCUMENT.value and job.document_id is not None:
        await _index_document(context, job, job.document_id)
    elif job.kind == JobKind.DELETE_VECTORS.value:
        await _delete_vectors(context, job)
    else:
        raise ValueError(f"unknown job kind {job.kind!r}")


async def _chunk_batch(
    context: JobContext, document_id: uuid.UUID, *, after: int
) -> list[tuple[str, int, str]]:
    """The next batch of a document's chunks, in order: a large document never sits in memory."""
    async with context.sessionmaker() as session:
        rows = await session.execute(
            select(Chunk.vector_id, Chunk.index, Chunk.content)
            .where(Chunk.document_id == document_id, Chunk.index > after)
            .order_by(Chunk.index)
            .limit(context.batch_size)
        )
        return [(vector_id, index, content) for vector_id, index, content in rows]


async def _index_document(context: JobContext, job: Job, document_id: uuid.UUID) -> None:
    namespace = f"bot-{job.bot_id}"
    async with context.sessionmaker() as session:
        name = await session.scalar(select(Document.name).where(Document.id == document_id))
    if name is None:
        # Deleted already. Its own deletion job may have run before an earlier attempt of this
        # one upserted, so clear the document's vectors here too (deleting is idempotent).
        await context.agent.delete(DeleteRequest(namespace=namespace, document_id=str(document_id)))
        await _finish(context, job)
        return
    last_index = -1
    while batch := await _chunk_batch(context, document_id, after=last_index):
        # Between batches only: a stop asked after the last one lets the job finish, rather
        # than handing a fully indexed document to another worker to index again.
        if last_index >= 0 and not await context.renew_lease():
            raise LeaseLost
        await context.agent.upsert(_upsert_request(namespace, document_id, name, batch))
        last_index = batch[-1][1]
    stale: list[str] = list(job.payload.get("stale_vector_ids") or [])
    for start in range(0, len(stale), MAX_IDS_PER_DELETE):
        ids = stale[start : start + MAX_IDS_PER_DELETE]
        await context.agent.delete(DeleteRequest(namespace=namespace, ids=ids))
    await _mark_ready(context, job, namespace, document_id)


def _upsert_request(
    namespace: str, document_id: uuid.UUID, name: str, rows: Sequence[tuple[str, int, str]]
) -> UpsertRequest:
    return UpsertRequest(
        namespace=namespace,
        chunks=[
            IndexChunk(
                id=vector_id,
                document_id=str(document_id),
                text=content,
                metadata={"document_name": name, "chunk_index": index},
            )
            for vector_id, index, content in rows
        ],
    )


async def _mark_ready(
    context: JobContext, job: Job, namespace: str, document_id: uuid.UUID
) -> None:
    async with context.sessionmaker() as session, session.begin():
        if not await jobs_service.finish_job(session, job_id=job.id, worker_id=context.worker_id):
            raise LeaseLost  # superseded by a re-index (or taken over): that job finishes it
        marked = await session.execute(
            update(Document)
            .where(Document.id == document_id)
            .values(status=DocumentStatus.READY.value, error=None)
            .returning(Document.id)
        )
        if marked.first() is None:
            # Deleted while we were indexing, perhaps after its deletion job ran: remove what
            # we just wrote, or it would stay in the index with nothing pointing to it.
            await context.agent.delete(
                DeleteRequest(namespace=namespace, document_id=str(document_id))
            )


async def _delete_vectors(context: JobContext, job: Job) -> None:
    namespace = f"bot-{job.bot_id}"
    if job.document_id is None:
        request = DeleteRequest(namespace=namespace, delete_all=True)
    else:
        request = DeleteRequest(namespace=namespace, document_id=str(job.document_id))
    await context.agent.delete(request)
    await _finish(context, job)


async def _finish(context: JobContext, job: Job) -> None:
    async with context.sessionmaker() as session, session.begin():
        if not await jobs_service.finish_job(session, job_id=job.id, worker_id=context.worker_id):
            raise LeaseLost  # another worker holds it now: our finish changed nothing
