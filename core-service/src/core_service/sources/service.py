"""Creating, listing, syncing and deleting web sources (the API's side; the worker's is
``core_service.sources.sync``)."""

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core_service.bots.models import Bot
from core_service.config import Settings
from core_service.documents import service as documents_service
from core_service.documents.models import Document
from core_service.errors import AppError
from core_service.jobs import service as jobs_service
from core_service.pagination import PageParams
from core_service.sources.models import Source, SourceStatus
from core_service.sources.schemas import SourceCreate
from core_service.users.models import User

__all__ = [
    "SourceLimitExceeded",
    "create_source",
    "delete_source",
    "get_source",
    "list_sources",
    "request_sync",
]


class SourceLimitExceeded(AppError):
    """``max_pages`` or ``max_depth`` above what this server allows."""

    code = "SourceLimitExceeded"
    status_code = 422


def _check_limits(body: SourceCreate, settings: Settings) -> None:
    if body.max_pages > settings.sources_max_pages:
        raise SourceLimitExceeded(f"max_pages may be at most {settings.sources_max_pages}.")
    if body.max_depth > settings.sources_max_depth:
        raise SourceLimitExceeded(f"max_depth may be at most {settings.sources_max_depth}.")


async def create_source(
    session: AsyncSession, *, bot: Bot, body: SourceCreate, settings: Settings
) -> Source:
    """Store the source and its first sync job (the URL was checked by the caller)."""
    _check_limits(body, settings)
    source = Source(
        id=uuid.uuid4(),
        bot_id=bot.id,
        kind=body.kind.value,
        url=body.url,
        max_pages=1 if body.kind == "url" else body.max_pages,
        max_depth=body.max_depth,
        include=body.include,
        exclude=body.exclude,
        refresh_interval_hours=body.refresh_interval_hours,
        status=SourceStatus.PENDING.value,
        pages_found=0,
        pages_indexed=0,
        pages_failed=0,
        generation=0,
    )
    session.add(source)
    await session.flush()
    await jobs_service.enqueue_source_sync(session, bot_id=bot.id, source_id=source.id)
    await session.refresh(source)
    return source


async def get_source(
    session: AsyncSession, *, bot_id: uuid.UUID, source_id: uuid.UUID
) -> Source | None:
    """The bot's source, or None."""
    found = await session.scalars(
        select(Source).where(Source.id == source_id, Source.bot_id == bot_id)
    )
    return found.one_or_none()


async def list_sources(
    session: AsyncSession, *, bot_id: uuid.UUID, page: PageParams
) -> tuple[list[Source], int]:
    """One page of the bot's sources, newest first, and how many there are."""
    total = await session.scalar(
        select(func.count()).select_from(Source).where(Source.bot_id == bot_id)
    )
    sources = await session.scalars(
        select(Source)
        .where(Source.bot_id == bot_id)
        .order_by(Source.created_at.desc(), Source.id)
        .limit(page.limit)
        .offset(page.offset)
    )
    return list(sources), total or 0


async def request_sync(session: AsyncSession, *, source: Source) -> Source:
    """Sync now: a sync under way or scheduled is replaced by this one."""
    await session.execute(select(Source.id).where(Source.id == source.id).with_for_update())
    await jobs_service.cancel_source_syncs(session, source_id=source.id)
    await jobs_service.enqueue_source_sync(session, bot_id=source.bot_id, source_id=source.id)
    source.status = SourceStatus.PENDING.value
    source.next_sync_at = None
    await session.flush()
    return source


async def delete_source(session: AsyncSession, *, source: Source, owner: User) -> None:
    """Delete the source and its documents; their vectors and files go in the background."""
    await session.execute(select(Source.id).where(Source.id == source.id).with_for_update())
    await jobs_service.cancel_source_syncs(session, source_id=source.id)
    documents = await session.scalars(select(Document).where(Document.source_id == source.id))
    for document in documents.all():
        await documents_service.delete_document(session, document=document, owner=owner)
    await session.delete(source)
    await session.flush()
