"""Web source bodies of the API."""

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from core_service.sources.models import SourceKind, SourceStatus

__all__ = ["SourceCreate", "SourceRead"]

_GLOB_DESCRIPTION = "Globs matched against URL paths (with the query), e.g. /docs/*."


class SourceCreate(BaseModel):
    """A page, a sitemap or a site to crawl, kept in sync as the bot's documents."""

    model_config = ConfigDict(extra="forbid")

    kind: SourceKind
    url: str = Field(min_length=1, max_length=2_000, description="An http(s) URL.")
    max_pages: int = Field(default=100, ge=1, description="Pages at most (sitemap, crawl).")
    max_depth: int = Field(default=2, ge=0, description="Links followed from the URL (crawl).")
    include: list[str] = Field(default_factory=list, max_length=50, description=_GLOB_DESCRIPTION)
    exclude: list[str] = Field(default_factory=list, max_length=50, description=_GLOB_DESCRIPTION)
    refresh_interval_hours: int | None = Field(
        default=None, ge=1, le=24 * 365, description="Sync again this often; null: only on demand."
    )


class SourceRead(BaseModel):
    """A web source and how its latest sync went."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    bot_id: uuid.UUID
    kind: SourceKind
    url: str
    max_pages: int
    max_depth: int
    include: list[str]
    exclude: list[str]
    refresh_interval_hours: int | None
    status: SourceStatus
    error: str | None = Field(description="Why the latest sync failed or stopped, for people.")
    pages_found: int
    pages_indexed: int
    pages_failed: int
    last_synced_at: datetime | None
    next_sync_at: datetime | None
    created_at: datetime
