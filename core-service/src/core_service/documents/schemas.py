"""Document and chunk bodies of the API."""

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from core_service.documents.models import DocumentStage, DocumentStatus

__all__ = ["ChunkRead", "DocumentRead", "TextDocumentCreate"]


class TextDocumentCreate(BaseModel):
    """Pasted text to index as a document."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=255)
    content: str = Field(min_length=1, description="The text; Markdown and HTML are recognised.")


class DocumentRead(BaseModel):
    """A document and where it is in ingestion."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    bot_id: uuid.UUID
    name: str
    content_type: str
    size_bytes: int
    checksum: str = Field(description="SHA-256 of the uploaded bytes, hex.")
    status: DocumentStatus
    error: str | None = Field(description="Why ingestion failed, for people; null unless error.")
    stage: DocumentStage | None = Field(
        description="While processing: queued, extracting, chunking or indexing; else null."
    )
    chunk_count: int
    source_id: uuid.UUID | None = Field(
        default=None, description="The web source the page came from; null for uploads."
    )
    url: str | None = Field(default=None, description="The web page's address (web sources).")
    created_at: datetime
    updated_at: datetime


class ChunkRead(BaseModel):
    """One passage; ``start``/``end`` are character offsets into the document's text."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    document_id: uuid.UUID
    index: int
    content: str
    vector_id: str
    start: int = Field(validation_alias="start_offset")
    end: int = Field(validation_alias="end_offset")
