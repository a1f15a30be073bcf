"""``/api/v1/bots/{bot_id}/sources``."""

import uuid

from fastapi import APIRouter, Response, status

from core_service.auth.dependencies import AppSettings, CurrentUser
from core_service.bots.dependencies import OwnedBot
from core_service.database import SessionDep
from core_service.pagination import Page, PageQuery
from core_service.sources import service as sources_service
from core_service.sources.exceptions import SourceNotFound
from core_service.sources.models import Source
from core_service.sources.schemas import SourceCreate, SourceRead
from core_service.webfetch import fetcher_from_settings

__all__ = ["router"]

router = APIRouter(prefix="/bots/{bot_id}/sources", tags=["sources"])


async def _owned_source(session: SessionDep, bot: OwnedBot, source_id: uuid.UUID) -> Source:
    source = await sources_service.get_source(session, bot_id=bot.id, source_id=source_id)
    if source is None:
        raise SourceNotFound
    return source


@router.post("", status_code=status.HTTP_202_ACCEPTED)
async def create_source(
    bot: OwnedBot, session: SessionDep, settings: AppSettings, body: SourceCreate
) -> SourceRead:
    """Fetch the page, sitemap or site in the background; 422 ``UrlNotAllowed`` if refused."""
    async with fetcher_from_settings(settings) as fetcher:
        await fetcher.check_url(body.url)
    source = await sources_service.create_source(session, bot=bot, body=body, settings=settings)
    return SourceRead.model_validate(source)


@router.get("")
async def list_sources(bot: OwnedBot, session: SessionDep, page: PageQuery) -> Page[SourceRead]:
    """The bot's sources, newest first."""
    sources, total = await sources_service.list_sources(session, bot_id=bot.id, page=page)
    items = [SourceRead.model_validate(source) for source in sources]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/{source_id}")
async def get_source(bot: OwnedBot, session: SessionDep, source_id: uuid.UUID) -> SourceRead:
    """One source: its status, progress and error."""
    return SourceRead.model_validate(await _owned_source(session, bot, source_id))


@router.post("/{source_id}/sync", status_code=status.HTTP_202_ACCEPTED)
async def sync_source(bot: OwnedBot, session: SessionDep, source_id: uuid.UUID) -> SourceRead:
    """Fetch again: unchanged pages are kept, changed ones re-indexed, vanished ones removed."""
    source = await _owned_source(session, bot, source_id)
    return SourceRead.model_validate(await sources_service.request_sync(session, source=source))


@router.delete("/{source_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_source(
    bot: OwnedBot, user: CurrentUser, session: SessionDep, source_id: uuid.UUID
) -> Response:
    """Delete the source with its documents and their vectors."""
    source = await _owned_source(session, bot, source_id)
    await sources_service.delete_source(session, source=source, owner=user)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
