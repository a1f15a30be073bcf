"""Document ingestion (extract, chunk, store, enqueue) and the other document operations."""

import asyncio
import hashlib
import uuid
from dataclasses import dataclass

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from core_service.bots.configuration import BotConfiguration
from core_service.bots.models import Bot
from core_service.documents.chunking import TextChunk, split_text
from core_service.documents.detection import DocumentKind, detect_kind
from core_service.documents.exceptions import DocumentNotReindexable, ExtractionFailed
from core_service.documents.extraction import ExtractionLimits, extract_text
from core_service.documents.models import Chunk, Document, DocumentStatus
from core_service.jobs import service as jobs_service
from core_service.pagination import PageParams
from core_service.usage.service import UsageMetric, consume, release
from core_service.users.models import User

__all__ = [
    "PreparedDocument",
    "delete_document",
    "get_document",
    "ingest_document",
    "list_chunks",
    "list_documents",
    "prepare_document",
    "reindex_document",
]


@dataclass(frozen=True)
class PreparedDocument:
    """A file turned into text and passages, or the reason it could not be."""

    kind: DocumentKind
    checksum: str
    text: str
    chunks: list[TextChunk]
    error: str | None


def prepare_document(
    data: bytes, *, filename: str | None, configuration: BotConfiguration, limits: ExtractionLimits
) -> PreparedDocument:
    """Detect, extract and chunk (blocking: run it in a thread); 415 for unsupported content."""
    kind = detect_kind(data, filename=filename)
    checksum = hashlib.sha256(data).hexdigest()
    try:
        text = extract_text(data, kind, limits)
    except ExtractionFailed as failure:
        return PreparedDocument(kind, checksum, "", [], failure.reason)
    chunks = split_text(
        text, chunk_size=configuration.chunk_size, chunk_overlap=configuration.chunk_overlap
    )
    return PreparedDocument(kind, checksum, text, chunks, None)


async def ingest_document(
    session: AsyncSession,
    *,
    bot: Bot,
    owner: User,
    name: str,
    data: bytes,
    filename: str | None,
    limits: ExtractionLimits,
) -> Document:
    """Store the document, its chunks and its indexing job in the caller's one transaction.

    A file that cannot be read is stored as ``error`` with the reason, and no job.
    """
    configuration = BotConfiguration.model_validate(bot.configuration)
    prepared = await asyncio.to_thread(
        prepare_document, data, filename=filename, configuration=configuration, limits=limits
    )
    await consume(session, user=owner, metric=UsageMetric.DOCUMENTS)
    await consume(session, user=owner, metric=UsageMetric.STORED_BYTES, amount=len(data))
    document = Document(
        id=uuid.uuid4(),
        bot_id=bot.id,
        name=name,
        content_type=prepared.kind.value,
        size_bytes=len(data),
        checksum=prepared.checksum,
        status=(DocumentStatus.ERROR if prepared.error else DocumentStatus.PROCESSING).value,
        error=prepared.error,
        chunk_count=len(prepared.chunks),
        text=prepared.text,
    )
    session.add(document)
    await session.flush()
    if prepared.error is None:
        await _insert_chunks(session, document_id=document.id, chunks=prepared.chunks)
        await jobs_service.enqueue_indexing(session, bot_id=bot.id, document_id=document.id)
    return document


async def _insert_chunks(
    session: AsyncSession, *, document_id: uuid.UUID, chunks: list[TextChunk]
) -> None:
    rows = []
    for chunk in chunks:
        chunk_id = uuid.uuid4()
        rows.append(
            {
                "id": chunk_id,
                "document_id": document_id,
                "index": chunk.index,
                "content": chunk.content,
                "vector_id": str(chunk_id),
                "start_offset": chunk.start,
                "end_offset": chunk.end,
            }
        )
    if rows:
        await session.execute(insert(Chunk), rows)


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
    """Delete the document and its chunks; its vectors are removed in the background."""
    await jobs_service.enqueue_vector_deletion(
        session, bot_id=document.bot_id, document_id=document.id
    )
    await session.execute(delete(Document).where(Document.id == document.id))
    await release(session, user=owner, metric=UsageMetric.DOCUMENTS)
    await release(session, user=owner, metric=UsageMetric.STORED_BYTES, amount=document.size_bytes)


async def reindex_document(session: AsyncSession, *, bot: Bot, document: Document) -> Document:
    """Re-chunk the stored text with the bot's current settings and replace the vectors.

    The new chunks are upserted before the old ones' vectors are deleted, so the document stays
    searchable throughout.
    """
    text = await session.scalar(select(Document.text).where(Document.id == document.id))
    if not text:
        raise DocumentNotReindexable
    configuration = BotConfiguration.model_validate(bot.configuration)
    chunks = await asyncio.to_thread(
        split_text,
        text,
        chunk_size=configuration.chunk_size,
        chunk_overlap=configuration.chunk_overlap,
    )
    stale = await session.scalars(
        delete(Chunk).where(Chunk.document_id == document.id).returning(Chunk.vector_id)
    )
    stale_vector_ids = list(stale)
    await _insert_chunks(session, document_id=document.id, chunks=chunks)
    document.status = DocumentStatus.PROCESSING.value
    document.error = None
    document.chunk_count = len(chunks)
    await jobs_service.enqueue_indexing(
        session, bot_id=bot.id, document_id=document.id, stale_vector_ids=stale_vector_ids
    )
    await session.flush()
    return document
