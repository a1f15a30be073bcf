"""How a web source's sync ends: the status and error it leaves, and who is told.

The outcome and its ``source.synced`` / ``source.failed`` event are written in one
transaction, so an event is sent exactly when the outcome is kept.
"""

import uuid

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core_service.bots.models import utcnow
from core_service.sources.models import PageState, Source, SourcePage, SourceStatus
from core_service.sources.schemas import SourceRead
from core_service.webhooks import events as webhook_events

__all__ = ["announce", "first_failure", "mark_sync_failed", "set_outcome"]


async def first_failure(session: AsyncSession, source_id: uuid.UUID, generation: int) -> str | None:
    """The first page of the sync that failed, with its reason (for the source's error)."""
    row = await session.execute(
        select(SourcePage.url, SourcePage.error)
        .where(
            SourcePage.source_id == source_id,
            SourcePage.generation == generation,
            SourcePage.state == PageState.FAILED.value,
        )
        .order_by(SourcePage.depth, SourcePage.url)
        .limit(1)
    )
    first = row.first()
    return None if first is None else f"{first.url}: {first.error}"


def set_outcome(source: Source, stopped: str | None, first_failure: str | None) -> None:
    """The status and error a finished sync leaves on its source."""
    source.last_synced_at = utcnow()
    if stopped == "time":
        source.status = (
            SourceStatus.READY.value if source.pages_indexed else SourceStatus.ERROR.value
        )
        source.error = "The sync stopped at its time limit; the pages not reached were skipped."
    elif source.pages_indexed == 0:
        source.status = SourceStatus.ERROR.value
        source.error = (
            f"No page could be indexed ({first_failure})."
            if first_failure
            else ("No page could be indexed.")
        )
    else:
        source.status = SourceStatus.READY.value
        source.error = (
            None
            if not first_failure
            else (f"{source.pages_failed} page(s) failed, e.g. {first_failure}")
        )


async def mark_sync_failed(session: AsyncSession, *, source_id: uuid.UUID, reason: str) -> None:
    """The worker gave up on a sync job: the source says why."""
    await session.execute(
        update(Source)
        .where(Source.id == source_id)
        .values(status=SourceStatus.ERROR.value, error=reason[:2_000], last_synced_at=utcnow())
    )
    source = await session.get(Source, source_id, populate_existing=True)
    if source is not None:
        await announce(session, source)


async def announce(session: AsyncSession, source: Source) -> None:
    """``source.synced`` or ``source.failed`` to the owner's webhooks, in the transaction that
    records the outcome (so an event is sent exactly when the outcome is kept)."""
    await session.flush()
    body = SourceRead.model_validate(source).model_dump(mode="json")
    if source.status == SourceStatus.READY.value:
        await webhook_events.emit_source_synced(session, bot_id=source.bot_id, source=body)
    else:
        await webhook_events.emit_source_failed(session, bot_id=source.bot_id, source=body)
