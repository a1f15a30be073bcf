"""What each kind of job does; run by the worker under a lease.

Indexing a document is one job in stages: extract (in a confined child process), chunk, store
the chunks, upsert them to the agent, delete the vectors they replaced, mark the document ready.
No agent or blob-store call is made while a database transaction is open: read, commit, call,
then write.
"""

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chatsphere_contracts.v1 import DeleteRequest, IndexChunk, UpsertRequest
from chatsphere_contracts.v1.limits import MAX_IDS_PER_DELETE
from core_service.agent_client.client import AgentClient
from core_service.agent_client.exceptions import AgentRejected
from core_service.blobs.store import BlobStore, bot_prefix, create_blob_store, document_key
from core_service.bots.configuration import BotConfiguration
from core_service.bots.models import Bot
from core_service.config import Settings, get_settings
from core_service.documents import service as documents_service
from core_service.documents.chunking import TextChunk, split_text
from core_service.documents.extraction import ExtractionFailed
from core_service.documents.kinds import DocumentKind
from core_service.documents.models import Chunk, Document, DocumentStage
from core_service.documents.service import ReplacedChunks, StoredChunk
from core_service.evaluations import service as evaluations_service
from core_service.evaluations.schemas import QuestionResult
from core_service.jobs import service as jobs_service
from core_service.jobs.models import Job, JobKind
from core_service.sources.sync import SyncContext, SyncSuperseded, run_sync_job
from core_service.webhooks import events as webhook_events
from core_service.webhooks.delivery import DeliveryLeaseLost, deliver_webhook
from core_service.webhooks.models import WebhookEvent
from core_service.worker.extraction import SandboxLimits, extract_in_child

__all__ = ["JobContext", "LeaseLost", "handle_job"]

RenewLease = Callable[[], Awaitable[bool]]
# Below this many characters a text is split faster than anyone polling the document would see
# a ``chunking`` stage, so the stage is not written in a transaction of its own.
_CHUNKING_STAGE_SHOWN_FROM_CHARS = 200_000


class LeaseLost(Exception):
    """Another worker took the job over (this one was too slow); stop without finishing it."""


class JobContext:
    """What a handler needs: database, agent, blob store, limits and the lease it holds."""

    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        agent: AgentClient,
        batch_size: int,
        renew_lease: RenewLease,
        worker_id: str,
        settings: Settings | None = None,
        extraction_slots: asyncio.Semaphore | None = None,
    ) -> None:
        self.worker_id = worker_id
        self.sessionmaker = sessionmaker
        self.agent = agent
        self.batch_size = batch_size
        self.renew_lease = renew_lease
        self.settings = settings or get_settings()
        self.blobs: BlobStore = create_blob_store(self.settings)
        self.limits = SandboxLimits.from_settings(self.settings)
        self.extraction_slots = extraction_slots or asyncio.Semaphore(
            self.settings.worker_extraction_concurrency
        )


@dataclass(frozen=True)
class _Source:
    """What indexing needs to know about the document, read before any slow step."""

    name: str
    kind: DocumentKind
    configuration: BotConfiguration
    # The file to extract; None when the job's chunks are written already.
    original: bytes | None = None


async def handle_job(context: JobContext, job: Job) -> None:
    """Do the job's work; agent failures propagate for the worker to retry."""
    if job.kind == JobKind.INDEX_DOCUMENT.value and job.document_id is not None:
        await _index_document(context, job, job.document_id)
    elif job.kind == JobKind.DELETE_VECTORS.value:
        await _delete_vectors(context, job)
    elif job.kind == JobKind.RUN_EVALUATION.value:
        await _run_evaluation(context, job, uuid.UUID(job.payload["evaluation_id"]))
    elif job.kind == JobKind.DELIVER_WEBHOOK.value:
        await _deliver_webhook(context, job)
    elif job.kind == JobKind.SYNC_SOURCE.value:
        await _sync_source(context, job)
    else:
        raise ValueError(f"unknown job kind {job.kind!r}")


async def _deliver_webhook(context: JobContext, job: Job) -> None:
    try:
        await deliver_webhook(
            context.sessionmaker, job, worker_id=context.worker_id, settings=context.settings
        )
    except DeliveryLeaseLost:
        raise LeaseLost from None


async def _sync_source(context: JobContext, job: Job) -> None:
    sync_context = SyncContext(
        sessionmaker=context.sessionmaker,
        blobs=context.blobs,
        settings=context.settings,
        worker_id=context.worker_id,
        renew_lease=context.renew_lease,
    )
    try:
        await run_sync_job(sync_context, job)
    except SyncSuperseded as superseded:
        raise LeaseLost from superseded


async def _run_evaluation(context: JobContext, job: Job, evaluation_id: uuid.UUID) -> None:
    """Ask each question with the bot's configuration now; no message is stored or counted.

    A retry (the agent was down) asks every question again: results are written only at the end.
    """
    async with context.sessionmaker() as session, session.begin():
        run = await evaluations_service.start_run(session, evaluation_id=evaluation_id)
    if run is None:
        await _finish(context, job)  # the evaluation or its bot is gone, or it is done
        return
    results: list[QuestionResult] = []
    try:
        for question in run.questions:
            if not await context.renew_lease():
                raise LeaseLost
            answer = await context.agent.chat(run.request_for(question))
            results.append(evaluations_service.score(question, answer))
    except AgentRejected as refusal:
        await _end_evaluation(context, job, evaluation_id, error=refusal.detail)
        return
    await _end_evaluation(context, job, evaluation_id, results=results)


async def _end_evaluation(
    context: JobContext,
    job: Job,
    evaluation_id: uuid.UUID,
    *,
    results: list[QuestionResult] | None = None,
    error: str | None = None,
) -> None:
    async with context.sessionmaker() as session, session.begin():
        if not await jobs_service.finish_job(session, job_id=job.id, worker_id=context.worker_id):
            raise LeaseLost
        if results is None:
            reason = error or "The assistant refused a question."
            await evaluations_service.fail_run(session, evaluation_id=evaluation_id, reason=reason)
        else:
            await evaluations_service.finish_run(
                session, evaluation_id=evaluation_id, results=results
            )


async def _index_document(context: JobContext, job: Job, document_id: uuid.UUID) -> None:
    namespace = f"bot-{job.bot_id}"
    # The file and its text are held only while preparing; past it a job holds one batch of
    # chunks at a time, so more jobs can wait on the agent than the memory allows to extract.
    async with context.extraction_slots:
        prepared = await _prepare(context, job, namespace, document_id)
    if prepared is None:
        return
    await _upsert_chunks(context, namespace, document_id, prepared.name, prepared.first_batch)
    await _delete_stale(context, namespace, prepared.stale)
    await _mark_ready(context, job, namespace, document_id)


@dataclass(frozen=True)
class _Prepared:
    """A document ready to index: its name, the vectors to delete once it is indexed, and the
    first batch of its passages when this job has just written them (None: read them back)."""

    name: str
    stale: list[str]
    first_batch: list[StoredChunk] | None = None


async def _prepare(
    context: JobContext, job: Job, namespace: str, document_id: uuid.UUID
) -> _Prepared | None:
    """Extract and chunk, unless done already; None when the job ended here (the document is
    gone or unreadable)."""
    try:
        source = await _open_document(context, job, document_id)
        if source is None:
            await _forget_deleted(context, job, namespace, document_id)
            return None
        # A retry after the chunks were written (say, the agent was down) only indexes again.
        if source.original is None:
            return _Prepared(source.name, _inherited_stale(job))
        # The wall-clock limit stays below the lease; whether the job is still ours is checked
        # when the chunks are written (``record_chunking``).
        text = await extract_in_child(source.original, source.kind, context.limits)
    except ExtractionFailed as failure:
        await _fail_document(context, job, namespace, document_id, failure.reason)
        return None
    replaced = await _chunk(context, job, document_id, text, source.configuration)
    if replaced is None:
        await _forget_deleted(context, job, namespace, document_id)
        return None
    stale, written = replaced
    return _Prepared(source.name, stale, written[: context.batch_size])


async def _open_document(context: JobContext, job: Job, document_id: uuid.UUID) -> _Source | None:
    """The document's source, and unless it is chunked already its original, shown extracting.

    One transaction for every job, rather than one per read. The original is read first: from
    S3 that is a network call, made before the transaction begins.
    """
    chunked = bool(job.payload.get("chunked"))
    key = document_key(bot_id=job.bot_id, document_id=document_id)
    async with context.sessionmaker() as session, session.begin():
        data = None if chunked else await context.blobs.get(session, key=key)
        source = await _read_source(session, document_id)
        if source is None or chunked:
            return source
        await documents_service.set_stage(
            session, document_id=document_id, stage=DocumentStage.EXTRACTING
        )
        if data is not None:
            return replace(source, original=data)
        # Documents indexed before originals were kept: their extracted text is what is left.
        text = await session.scalar(select(Document.text).where(Document.id == document_id))
    if not text:
        raise ExtractionFailed("The original file is not available; upload it again.")
    return replace(source, original=text.encode(), kind=DocumentKind.TEXT)


async def _read_source(session: AsyncSession, document_id: uuid.UUID) -> _Source | None:
    row = (
        await session.execute(
            select(Document.name, Document.content_type, Document.source_id, Bot.configuration)
            .join(Bot, Bot.id == Document.bot_id)
            .where(Document.id == document_id)
        )
    ).first()
    if row is None:
        return None
    configuration = BotConfiguration.model_validate(row.configuration)
    kind = DocumentKind(row.content_type)
    if kind is DocumentKind.HTML and row.source_id is not None:
        kind = DocumentKind.WEB_PAGE  # a web page's main content, not its menus
    return _Source(row.name, kind, configuration)


async def _chunk(
    context: JobContext,
    job: Job,
    document_id: uuid.UUID,
    text: str,
    configuration: BotConfiguration,
) -> ReplacedChunks | None:
    """Split and store the passages: the vectors to delete once they are indexed, and the
    passages written (None: the document is gone)."""
    if len(text) >= _CHUNKING_STAGE_SHOWN_FROM_CHARS:
        await _set_stage(context, document_id, DocumentStage.CHUNKING)
    chunks = await asyncio.to_thread(
        split_text,
        text,
        chunk_size=configuration.chunk_size,
        chunk_overlap=configuration.chunk_overlap,
    )
    async with context.sessionmaker() as session, session.begin():
        return await _replace_chunks(session, context, job, document_id, text, chunks)


async def _replace_chunks(
    session: AsyncSession,
    context: JobContext,
    job: Job,
    document_id: uuid.UUID,
    text: str,
    chunks: list[TextChunk],
) -> ReplacedChunks | None:
    replaced = await documents_service.replace_chunks(
        session, document_id=document_id, text=text, chunks=chunks
    )
    if replaced is None:
        return None
    stale = list(dict.fromkeys([*_inherited_stale(job), *replaced.stale]))
    # In the same transaction: a reindex that supersedes this job from now on inherits them.
    if not await jobs_service.record_chunking(
        session, job_id=job.id, worker_id=context.worker_id, stale_vector_ids=stale
    ):
        raise LeaseLost
    # A retry within this claim reuses the job as claimed: keep it in step with the row.
    job.payload = {"stale_vector_ids": stale, "chunked": True}
    return ReplacedChunks(stale, replaced.written)


def _inherited_stale(job: Job) -> list[str]:
    return [str(vector_id) for vector_id in job.payload.get("stale_vector_ids") or []]


async def _chunk_batch(
    context: JobContext, document_id: uuid.UUID, *, after: int
) -> list[StoredChunk]:
    """The next batch of a document's chunks, in order: a large document never sits in memory."""
    async with context.sessionmaker() as session:
        rows = await session.execute(
            select(Chunk.vector_id, Chunk.index, Chunk.content)
            .where(Chunk.document_id == document_id, Chunk.index > after)
            .order_by(Chunk.index)
            .limit(context.batch_size)
        )
        return [StoredChunk(vector_id, index, content) for vector_id, index, content in rows]


async def _upsert_chunks(
    context: JobContext,
    namespace: str,
    document_id: uuid.UUID,
    name: str,
    first_batch: list[StoredChunk] | None,
) -> None:
    # The passages this job has just written need not be read back: one statement fewer
    # for every document, and the only one for most.
    batch = first_batch
    if batch is None:
        batch = await _chunk_batch(context, document_id, after=-1)
    while batch:
        await context.agent.upsert(_upsert_request(namespace, document_id, name, batch))
        if len(batch) < context.batch_size:
            break  # the last batch: asking for another would only find none
        batch = await _chunk_batch(context, document_id, after=batch[-1].index)
        # Between batches only: a stop asked after the last one lets the job finish, rather
        # than handing a fully indexed document to another worker to index again.
        if batch and not await context.renew_lease():
            raise LeaseLost


async def _delete_stale(context: JobContext, namespace: str, stale: list[str]) -> None:
    for start in range(0, len(stale), MAX_IDS_PER_DELETE):
        ids = stale[start : start + MAX_IDS_PER_DELETE]
        await context.agent.delete(DeleteRequest(namespace=namespace, ids=ids))


def _upsert_request(
    namespace: str, document_id: uuid.UUID, name: str, rows: Sequence[StoredChunk]
) -> UpsertRequest:
    return UpsertRequest(
        namespace=namespace,
        chunks=[
            IndexChunk(
                id=row.vector_id,
                document_id=str(document_id),
                text=row.content,
                metadata={"document_name": name, "chunk_index": row.index},
            )
            for row in rows
        ],
    )


async def _set_stage(context: JobContext, document_id: uuid.UUID, stage: DocumentStage) -> None:
    async with context.sessionmaker() as session, session.begin():
        await documents_service.set_stage(session, document_id=document_id, stage=stage)


async def _mark_ready(
    context: JobContext, job: Job, namespace: str, document_id: uuid.UUID
) -> None:
    async with context.sessionmaker() as session, session.begin():
        if not await jobs_service.finish_job(session, job_id=job.id, worker_id=context.worker_id):
            raise LeaseLost  # superseded by a re-index (or taken over): that job finishes it
        still_there = await documents_service.mark_ready(session, document_id=document_id)
        if still_there:
            await webhook_events.emit_document_event(
                session,
                bot_id=job.bot_id,
                document_id=document_id,
                event=WebhookEvent.DOCUMENT_READY,
            )
    if not still_there:
        # Deleted while we were indexing, perhaps after its deletion job ran: remove what
        # we just wrote, or it would stay in the index with nothing pointing to it.
        await context.agent.delete(DeleteRequest(namespace=namespace, document_id=str(document_id)))


async def _fail_document(
    context: JobContext, job: Job, namespace: str, document_id: uuid.UUID, reason: str
) -> None:
    """A file that cannot be read: the document ends ``error``; the job is done."""
    # Vectors a superseded job left to delete are deleted now, or nobody would.
    await _delete_stale(context, namespace, _inherited_stale(job))
    async with context.sessionmaker() as session, session.begin():
        if not await jobs_service.finish_job(session, job_id=job.id, worker_id=context.worker_id):
            raise LeaseLost
        if await documents_service.mark_failed(session, document_id=document_id, reason=reason):
            await webhook_events.emit_document_event(
                session,
                bot_id=job.bot_id,
                document_id=document_id,
                event=WebhookEvent.DOCUMENT_FAILED,
            )


async def _forget_deleted(
    context: JobContext, job: Job, namespace: str, document_id: uuid.UUID
) -> None:
    # Deleted already. Its own deletion job may have run before an earlier attempt of this
    # one upserted, so clear the document's vectors here too (deleting is idempotent).
    await context.agent.delete(DeleteRequest(namespace=namespace, document_id=str(document_id)))
    await _finish(context, job)


async def _delete_vectors(context: JobContext, job: Job) -> None:
    namespace = f"bot-{job.bot_id}"
    if job.document_id is None:
        request = DeleteRequest(namespace=namespace, delete_all=True)
    else:
        request = DeleteRequest(namespace=namespace, document_id=str(job.document_id))
    await context.agent.delete(request)
    await _delete_files(context, job)
    await _finish(context, job)


async def _delete_files(context: JobContext, job: Job) -> None:
    # session.begin() opens no database transaction until a statement runs, so the S3 store's
    # network call happens outside one; the PostgreSQL store's delete commits here.
    async with context.sessionmaker() as session, session.begin():
        if job.document_id is None:
            await context.blobs.delete_prefix(session, prefix=bot_prefix(job.bot_id))
        else:
            key = document_key(bot_id=job.bot_id, document_id=job.document_id)
            await context.blobs.delete(session, key=key)


async def _finish(context: JobContext, job: Job) -> None:
    async with context.sessionmaker() as session, session.begin():
        if not await jobs_service.finish_job(session, job_id=job.id, worker_id=context.worker_id):
            raise LeaseLost  # another worker holds it now: our finish changed nothing
