"""Documents, their extracted text and their passages (chunks)."""

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from core_service.bots.models import utcnow
from core_service.database import Base

__all__ = ["Chunk", "Document", "DocumentStage", "DocumentStatus"]


class DocumentStatus(StrEnum):
    """Where a document is in ingestion."""

    PROCESSING = "processing"
    READY = "ready"
    ERROR = "error"


class DocumentStage(StrEnum):
    """The step of ingestion a ``processing`` document is at (null once it is ready or failed)."""

    QUEUED = "queued"
    EXTRACTING = "extracting"
    CHUNKING = "chunking"
    INDEXING = "indexing"


class Document(Base):
    """An uploaded file or pasted text of a bot; ``text`` is what chunk offsets point into."""

    __tablename__ = "documents"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    bot_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("bots.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    checksum: Mapped[str] = mapped_column(String(64), doc="SHA-256 of the uploaded bytes, hex.")
    status: Mapped[str] = mapped_column(String(16), default=DocumentStatus.PROCESSING.value)
    error: Mapped[str | None] = mapped_column(Text)
    stage: Mapped[str | None] = mapped_column(String(16), default=DocumentStage.QUEUED.value)
    chunk_count: Mapped[int] = mapped_column(Integer, default=0)
    text: Mapped[str] = mapped_column(Text, default="", deferred=True)
    # Pages of web sources: the source they came from and the page's address (citations show it).
    source_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("sources.id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now(), onupdate=utcnow
    )


class Chunk(Base):
    """One passage of a document; its id is also its vector id in the agent."""

    __tablename__ = "chunks"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    index: Mapped[int] = mapped_column(Integer)
    content: Mapped[str] = mapped_column(Text)
    vector_id: Mapped[str] = mapped_column(String(64))
    start_offset: Mapped[int] = mapped_column(Integer)
    end_offset: Mapped[int] = mapped_column(Integer)


# A bot's documents, newest first; a document's chunks in order (also keeps indexes unique).
Index("ix_documents_bot_id_created_at", Document.bot_id, Document.created_at.desc())
Index("ix_documents_bot_id_checksum", Document.bot_id, Document.checksum)
Index("uq_chunks_document_id_index", Chunk.document_id, Chunk.index, unique=True)
