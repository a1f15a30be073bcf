"""Accepting documents (checks, original file, job) and the other document operations.

Nothing here parses a file: the upload checks size, type and quota, stores the original, the
document and its ingestion job in the caller's one transaction, and the worker does the rest
(``core_service.worker.handlers``) in a confined process.
"""

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core_service.blobs.store import BlobStore, document_key
from core_service.bots.models import Bot
from core_service.documents.chunking import TextChunk
from core_service.documents.detection import detect_kind
from core_service.documents.exceptions import DocumentNotFound, DuplicateDocument
from core_service.documents.kinds import DocumentKind
from core_service.documents.models import Chunk, Document, DocumentStage, DocumentStatus
from core_service.jobs import service as jobs_service
from core_service.pagination import PageParams
from core_service.usage.service import UsageMetric, consume, release
from core_service.users.models import User

__all__ = [
    "ReplacedChunks",
    "StoredChunk",
    "accept_document",
    "accept_page",
    "delete_document",
    "get_document",
    "list_chunks",
    "list_documents",
    "mark_failed",
    "mark_ready",
    "reindex_document",
    "reindex_ready_documents",
    "replace_page",
    "replace_chunks",
    "set_stage",
]


async def accept_document(
    session: AsyncSession,
    *,
    bot: Bot,
    owner: User,
    name: str,
    data: bytes,
    filename: str | None,
    blobs: BlobStore,
) -> Document:
    """Check the file (type by content: 415; duplicate: 409; quota: 429), then store it.

    The original, the ``processing`` document and its ingestion job are written in the caller's
    transaction, so either all three are kept or none.
    """
    kind = detect_kind(data, filename=filename)
    checksum = hashlib.sha256(data).hexdigest()
    await _refuse_duplicate(session, bot_id=bot.id, checksum=checksum)
    await _consume_quota(session, owner=owner, size=len(data))
    document = Document(
        id=uuid.uuid4(),
        bot_id=bot.id,
        name=name,
        content_type=kind.value,
        size_bytes=len(data),
        checksum=checksum,
        status=DocumentStatus.PROCESSING.value,
        stage=DocumentStage.QUEUED.value,
        chunk_count=0,
        text="",
    )
    session.add(document)
    await session.flush()
    # After the quota, so a refused upload writes nothing. With S3 this is a network call while
    # the user's quota counters are locked: only that user's own uploads wait for it.
    await blobs.put(session, key=document_key(bot_id=bot.id, document_id=document.id), data=data)
    await jobs_service.enqueue_indexing(session, bot_id=bot.id, document_id=document.id)
    return document


async def accept_page(
    session: AsyncSession,
    *,
    bot_id: uuid.UUID,
    owner: User,
    source_id: uuid.UUID,
    url: str,
    data: bytes,
    kind: DocumentKind,
    blobs: BlobStore,
) -> Document:
    """A web source's page as a new document, indexed like an upload (quota: 429 error)."""
    await _consume_quota(session, owner=owner, size=len(data))
    document = Document(
        id=uuid.uuid4(),
        bot_id=bot_id,
        source_id=source_id,
        url=url,
        name=url[:255],
        content_type=kind.value,
        size_bytes=len(data),
        checksum=hashlib.sha256(data).hexdigest(),
        status=DocumentStatus.PROCESSING.value,
        stage=DocumentStage.QUEUED.value,
        chunk_count=0,
        text="",
    )
    session.add(document)
    await session.flush()
    await blobs.put(session, key=document_key(bot_id=bot_id, document_id=document.id), data=data)
    await jobs_service.enqueue_indexing(session, bot_id=bot_id, document_id=document.id)
    return document


async def replace_page(
    session: AsyncSession,
    *,
    document_id: uuid.UUID,
    owner: User,
    data: bytes,
    kind: DocumentKind,
    blobs: BlobStore,
) -> bool:
    """A changed page: same document id, new original, indexed again; False if it is gone."""
    old = await session.execute(
        select(Document.bot_id, Document.size_bytes, Document.status)
        .where(Document.id == document_id)
        .with_for_update()
    )
    row = old.first()
    if row is None:
        return False
    if row.status != DocumentStatus.ERROR.value:
        await release(session, user=owner, metric=UsageMetric.STORED_BYTES, amount=row.size_bytes)
        await release(session, user=owner, metric=UsageMetric.DOCUMENTS)
    await _consume_quota(session, owner=owner, size=len(data))
    await session.execute(
        update(Document)
        .where(Document.id == document_id)
        .values(
            content_type=kind.value,
            size_bytes=len(data),
            checksum=hashlib.sha256(data).hexdigest(),
            status=DocumentStatus.PROCESSING.value,
            stage=DocumentStage.QUEUED.value,
            error=None,
        )
    )
    await blobs.put(
        session, key=document_key(bot_id=row.bot_id, document_id=document_id), data=data
    )
    await jobs_service.enqueue_indexing(session, bot_id=row.bot_id, document_id=document_id)
    return True


async def _refuse_duplicate(session: AsyncSession, *, bot_id: uuid.UUID, checksum: str) -> None:
    # A failed copy does not block a new try (the limits may have changed since).
    existing = await session.scalar(
        select(Document.id)
        .where(
            Document.bot_id == bot_id,
            Document.checksum == checksum,
            Document.status != DocumentStatus.ERROR.value,
        )
        .limit(1)
    )
    if existing is not None:
        raise DuplicateDocument(bot_id=bot_id, document_id=existing)


async def _consume_quota(session: AsyncSession, *, owner: User, size: int) -> None:
    await consume(session, user=owner, metric=UsageMetric.DOCUMENTS)
    await consume(session, user=owner, metric=UsageMetric.STORED_BYTES, amount=size)


async def _release_quota(session: AsyncSession, *, owner: User, size: int) -> None:
    await release(session, user=owner, metric=UsageMetric.DOCUMENTS)
    await release(session, user=owner, metric=UsageMetric.STORED_BYTES, amount=size)


async def mark_failed(session: AsyncSession, *, document_id: uuid.UUID, reason: str) -> bool:
    """The document ends ``error`` with ``reason``; it stops counting against the quotas.

    False when there is no such document (deleted meanwhile) or it had failed already.
    """
    failed = await session.execute(
        update(Document)
        .where(Document.id == document_id, Document.status != DocumentStatus.ERROR.value)
        .values(status=DocumentStatus.ERROR.value, error=reason[:2_000], stage=None)
        .returning(Document.bot_id, Document.size_bytes)
    )
    row = failed.first()
    if row is None:
        return False
    owner = await session.scalar(
        select(User).join(Bot, Bot.owner_id == User.id).where(Bot.id == row.bot_id)
    )
    if owner is not None:
        await _release_quota(session, owner=owner, size=row.size_bytes)
    return True


@dataclass(frozen=True, slots=True)
class StoredChunk:
    """What indexing sends of a stored passage."""

    vector_id: str
    index: int
    content: str


class ReplacedChunks(NamedTuple):
    """The vector ids of the passages replaced, and the passages written in their place."""

    stale: list[str]
    written: list[StoredChunk]


async def replace_chunks(
    session: AsyncSession, *, document_id: uuid.UUID, text: str, chunks: list[TextChunk]
) -> ReplacedChunks | None:
    """Store the new text and passages; the passages they replace and the ones written.

    None when the document no longer exists. The document row is locked first, as a reindex
    request does, so the two never wait for each other in opposite orders.
    """
    updated = await session.execute(
        update(Document)
        .where(Document.id == document_id)
        .values(text=text, chunk_count=len(chunks), stage=DocumentStage.INDEXING.value)
        .returning(Document.id)
    )
    if updated.first() is None:
        return None
    removed = await session.scalars(
        delete(Chunk).where(Chunk.document_id == document_id).returning(Chunk.vector_id)
    )
    stale = list(removed)
    rows = [_chunk_row(document_id, chunk) for chunk in chunks]
    if rows:
        await session.execute(insert(Chunk), rows)
    written = [
        StoredChunk(str(row["vector_id"]), chunk.index, chunk.content)
        for row, chunk in zip(rows, chunks, strict=True)
    ]
    return ReplacedChunks(stale, written)


def _chunk_row(document_id: uuid.UUID, chunk: TextChunk) -> dict[str, object]:
    chunk_id = uuid.uuid4()
    return {
        "id": chunk_id,
        "document_id": document_id,
        "index": chunk.index,
        "content": chunk.content,
        "vector_id": str(chunk_id),
        "start_offset": chunk.start,
        "end_offset": chunk.end,
    }


async def set_stage(session: AsyncSession, *, document_id: uuid.UUID, stage: DocumentStage) -> None:
    """Show how far ingestion has come."""
    await session.execute(
        update(Document)
        .where(Document.id == document_id, Document.status == DocumentStatus.PROCESSING.value)
        .values(stage=stage.value)
    )


async def mark_ready(session: AsyncSession, *, document_id: uuid.UUID) -> bool:
    """The document is searchable; False when it was deleted meanwhile."""
    marked = await session.execute(
        update(Document)
        .where(Document.id == document_id)
        .values(status=DocumentStatus.READY.value, error=None, stage=None)
        .returning(Document.id)
    )
    return marked.first() is not None


async def get_document(
    session: AsyncSession, *, bot_id: uuid.UUID, document_id: uuid.UUID
) -> Document | None:
    """The bot's document, or None."""
    found = await session.scalars(
        select(Document).where(Document.id == document_id, Document.bot_id == bot_id)
    )
    return found.one_or_none()


async def list_documents(
    session: AsyncSession, *, bot_id: uuid.UUID, page: PageParams
) -> tuple[list[Document], int]:
    """One page of the bot's documents, newest first, and how many there are."""
    total = await session.scalar(
        select(func.count()).select_from(Document).where(Document.bot_id == bot_id)
    )
    documents = await session.scalars(
        select(Document)
        .where(Document.bot_id == bot_id)
        .order_by(Document.created_at.desc(), Document.id)
        .limit(page.limit)
        .offset(page.offset)
    )
    return list(documents), total or 0


async def list_chunks(
    session: AsyncSession, *, document_id: uuid.UUID, page: PageParams
) -> tuple[list[Chunk], int]:
    """One page of the document's chunks in order, and how many there are."""
    total = await session.scalar(
        select(func.count()).select_from(Chunk).where(Chunk.document_id == document_id)
    )
    chunks = await session.scalars(
        select(Chunk)
        .where(Chunk.document_id == document_id)
        .order_by(Chunk.index)
        .limit(page.limit)
        .offset(page.offset)
    )
    return list(chunks), total or 0


async def delete_document(session: AsyncSession, *, document: Document, owner: User) -> None:
    """Delete the document and its chunks; its vectors and file go in the background."""
    await jobs_service.enqueue_vector_deletion(
        session, bot_id=document.bot_id, document_id=document.id
    )
    deleted = await session.execute(
        delete(Document).where(Document.id == document.id).returning(Document.status)
    )
    status = deleted.scalar_one_or_none()
    if status is not None and status != DocumentStatus.ERROR.value:
        await _release_quota(session, owner=owner, size=document.size_bytes)


async def reindex_ready_documents(
    session: AsyncSession, *, indexed_before: datetime, limit: int
) -> int:
    """Queue a re-index of up to ``limit`` ready documents last indexed before the cutoff.

    What a deployment needs after its embedder changes (each embedder has its own vector
    table). Repeating it with the same cutoff skips the documents already queued (processing)
    or re-indexed since (changed after the cutoff), so an interrupted run resumes where it
    stopped. Rows another transaction holds are skipped, never waited for.
    """
    documents = await session.execute(
        select(Document.id, Document.bot_id)
        .where(
            Document.status == DocumentStatus.READY.value,
            Document.updated_at < indexed_before,
        )
        .order_by(Document.updated_at, Document.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    queued = 0
    for document_id, bot_id in documents:
        await session.execute(
            update(Document)
            .where(Document.id == document_id)
            .values(status=DocumentStatus.PROCESSING.value, stage=DocumentStage.QUEUED.value)
        )
        await jobs_service.enqueue_indexing(session, bot_id=bot_id, document_id=document_id)
        queued += 1
    return queued


async def reindex_document(
    session: AsyncSession, *, bot: Bot, document: Document, owner: User
) -> Document:
    """Extract the original again with the bot's current settings and replace the vectors.

    Requests for one document are serialised by its row lock; a newer request supersedes the
    job of an older one and inherits the vectors it had yet to delete. A failed document counts
    against the quotas again while it is retried.
    """
    locked = await session.scalar(
        select(Document.status).where(Document.id == document.id).with_for_update()
    )
    if locked is None:
        raise DocumentNotFound
    if locked == DocumentStatus.ERROR.value:
        await _consume_quota(session, owner=owner, size=document.size_bytes)
    document.status = DocumentStatus.PROCESSING.value
    document.stage = DocumentStage.QUEUED.value
    document.error = None
    await jobs_service.enqueue_indexing(session, bot_id=bot.id, document_id=document.id)
    await session.flush()
    return document
