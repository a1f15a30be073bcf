"""Web sources and the pages each one found."""

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from core_service.bots.models import utcnow
from core_service.database import Base

__all__ = ["PageState", "Source", "SourceKind", "SourcePage", "SourceStatus"]


class SourceKind(StrEnum):
    """One page, the pages a sitemap lists, or the pages reached by following links."""

    URL = "url"
    SITEMAP = "sitemap"
    CRAWL = "crawl"


class SourceStatus(StrEnum):
    """Where the source's latest sync is."""

    PENDING = "pending"
    SYNCING = "syncing"
    READY = "ready"
    ERROR = "error"


class PageState(StrEnum):
    """A page of the current sync: waiting to be fetched, fetched (with a document), or not."""

    QUEUED = "queued"
    DONE = "done"
    FAILED = "failed"


class Source(Base):
    """A web source of a bot. ``generation`` counts syncs: a page row belongs to the sync of its
    own generation, and a job of an older generation stops (a newer sync replaced it)."""

    __tablename__ = "sources"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    bot_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("bots.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    url: Mapped[str] = mapped_column(Text)
    max_pages: Mapped[int] = mapped_column(Integer)
    max_depth: Mapped[int] = mapped_column(Integer)
    include: Mapped[list[str]] = mapped_column(JSONB, default=list)
    exclude: Mapped[list[str]] = mapped_column(JSONB, default=list)
    refresh_interval_hours: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=SourceStatus.PENDING.value)
    error: Mapped[str | None] = mapped_column(Text)
    pages_found: Mapped[int] = mapped_column(Integer, default=0)
    pages_indexed: Mapped[int] = mapped_column(Integer, default=0)
    pages_failed: Mapped[int] = mapped_column(Integer, default=0)
    generation: Mapped[int] = mapped_column(Integer, default=0)
    robots_txt: Mapped[str | None] = mapped_column(Text, deferred=True)
    sync_started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_synced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    next_sync_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now()
    )


class SourcePage(Base):
    """A page a source found, with what the next sync needs to ask "has it changed?"."""

    __tablename__ = "source_pages"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    source_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(Text)
    depth: Mapped[int] = mapped_column(Integer, default=0)
    generation: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), default=PageState.QUEUED.value)
    error: Mapped[str | None] = mapped_column(Text)
    document_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("documents.id", ondelete="SET NULL")
    )
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    content_hash: Mapped[str | None] = mapped_column(String(64))
    # Its links when last fetched: an unchanged page (304) still leads a crawl to them.
    links: Mapped[list[str]] = mapped_column(JSONB, default=list)


Index("ix_sources_bot_id_created_at", Source.bot_id, Source.created_at.desc())
Index("uq_source_pages_source_id_url", SourcePage.source_id, SourcePage.url, unique=True)
Index(
    "ix_source_pages_source_id_state", SourcePage.source_id, SourcePage.generation, SourcePage.state
)
