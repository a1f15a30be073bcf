"""A web source's sync, run by the worker as a chain of jobs.

The first job reads robots.txt and the seeds (the URL, or the sitemap's pages), starts a new
generation and queues its pages; each following job fetches a batch of them, records each page
(a new document, the same document re-indexed, or nothing for an unchanged page) and queues the
links a crawl found; the last one removes the pages this sync did not find and schedules the next
sync. Each batch is a job of its own so that a big site takes turns with everyone else's work.
No fetch is made while a database transaction is open.
"""

import uuid
from collections.abc import Awaitable, Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core_service.blobs.store import BlobStore
from core_service.bots.models import Bot, utcnow
from core_service.config import Settings
from core_service.documents import service as documents_service
from core_service.documents.models import Document
from core_service.jobs import service as jobs_service
from core_service.jobs.models import Job
from core_service.sources import outcome
from core_service.sources.crawl import RobotsRules
from core_service.sources.fetching import (
    PageOutcome,
    PageToFetch,
    SourceSpec,
    SyncFailed,
    fetch_pages,
    read_robots,
    seed_urls,
)
from core_service.sources.models import PageState, Source, SourceKind, SourcePage, SourceStatus
from core_service.usage.exceptions import QuotaExceeded
from core_service.users.models import User
from core_service.webfetch import fetcher_from_settings

__all__ = ["SyncContext", "SyncSuperseded", "run_sync_job"]


class SyncSuperseded(Exception):
    """The job is no longer this worker's (a newer sync replaced it, or it was taken over)."""


@dataclass(frozen=True)
class SyncContext:
    """What a sync job needs from the worker."""

    sessionmaker: async_sessionmaker[AsyncSession]
    blobs: BlobStore
    settings: Settings
    worker_id: str
    renew_lease: Callable[[], Awaitable[bool]]


@dataclass(frozen=True)
class _Snapshot:
    bot_id: uuid.UUID
    generation: int
    spec: SourceSpec
    robots_txt: str | None
    sync_started_at: datetime | None
    refresh_interval_hours: int | None


async def run_sync_job(context: SyncContext, job: Job) -> None:
    """Start a sync (no generation in the payload) or go on with one."""
    source_id = uuid.UUID(job.payload["source_id"])
    generation = job.payload.get("generation")
    snapshot = await _snapshot(context, source_id)
    if snapshot is None or (generation is not None and generation != snapshot.generation):
        await _finish_job(context, job)  # the source is gone, or a newer sync took over
        return
    if generation is None:
        await _start(context, job, source_id, snapshot)
    else:
        await _go_on(context, job, source_id, snapshot)


async def _snapshot(context: SyncContext, source_id: uuid.UUID) -> _Snapshot | None:
    async with context.sessionmaker() as session:
        source = await session.get(Source, source_id)
        if source is None:
            return None
        spec = SourceSpec(
            kind=SourceKind(source.kind),
            url=source.url,
            max_pages=source.max_pages,
            max_depth=source.max_depth,
            include=list(source.include),
            exclude=list(source.exclude),
        )
        return _Snapshot(
            source.bot_id,
            source.generation,
            spec,
            await session.scalar(select(Source.robots_txt).where(Source.id == source_id)),
            source.sync_started_at,
            source.refresh_interval_hours,
        )


def _robots(context: SyncContext, text: str | None) -> RobotsRules:
    return RobotsRules(text, user_agent=context.settings.fetch_user_agent)


async def _start(context: SyncContext, job: Job, source_id: uuid.UUID, snapshot: _Snapshot) -> None:
    await _set_status(context, source_id, SourceStatus.SYNCING)
    try:
        async with fetcher_from_settings(context.settings) as fetcher:
            robots_txt = await read_robots(fetcher, snapshot.spec.url)
        seeds = await seed_urls(context.settings, snapshot.spec, _robots(context, robots_txt))
    except SyncFailed as failure:
        await _end_in_error(context, job, source_id, snapshot, failure.reason)
        return
    async with context.sessionmaker() as session, session.begin():
        await _finish_held(session, context, job)
        generation = await _begin_generation(session, source_id, robots_txt, seeds)
        if generation is not None:
            await jobs_service.enqueue_source_sync(
                session, bot_id=snapshot.bot_id, source_id=source_id, generation=generation
            )


async def _begin_generation(
    session: AsyncSession, source_id: uuid.UUID, robots_txt: str | None, seeds: Sequence[str]
) -> int | None:
    source = await session.get(Source, source_id, with_for_update=True)
    if source is None:
        return None
    source.generation += 1
    source.status = SourceStatus.SYNCING.value
    source.error = None
    source.robots_txt = robots_txt
    source.sync_started_at = utcnow()
    source.next_sync_at = None
    await _queue_pages(session, source_id, source.generation, seeds, depth=0)
    await _update_counts(session, source_id, source.generation)
    return source.generation


async def _queue_pages(
    session: AsyncSession, source_id: uuid.UUID, generation: int, urls: Sequence[str], *, depth: int
) -> None:
    """Queue the pages for this generation; a page this sync already has is left alone."""
    if not urls:
        return
    rows = [
        {
            "id": uuid.uuid4(),
            "source_id": source_id,
            "url": url,
            "depth": depth,
            "generation": generation,
            "state": PageState.QUEUED.value,
            "links": [],
        }
        for url in urls
    ]
    statement = insert(SourcePage).values(rows)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[SourcePage.source_id, SourcePage.url],
            set_={
                "generation": generation,
                "state": PageState.QUEUED.value,
                "depth": depth,
                "error": None,
            },
            where=SourcePage.generation < generation,
        )
    )


async def _update_counts(session: AsyncSession, source_id: uuid.UUID, generation: int) -> None:
    states = await session.execute(
        select(SourcePage.state, func.count())
        .where(SourcePage.source_id == source_id, SourcePage.generation == generation)
        .group_by(SourcePage.state)
    )
    counts: dict[str, int] = dict(states.all())
    await session.execute(
        update(Source)
        .where(Source.id == source_id)
        .values(
            pages_found=sum(counts.values()),
            pages_indexed=counts.get(PageState.DONE.value, 0),
            pages_failed=counts.get(PageState.FAILED.value, 0),
        )
    )


async def _go_on(context: SyncContext, job: Job, source_id: uuid.UUID, snapshot: _Snapshot) -> None:
    """Fetch and record the next batch of pages; end the sync when none is left."""
    if _out_of_time(context, snapshot):
        await _finish_sync(context, job, source_id, snapshot, stopped="time")
        return
    batch = await _next_batch(context, source_id, snapshot.generation)
    if batch:
        follow = snapshot.spec.kind == SourceKind.CRAWL
        async with fetcher_from_settings(context.settings) as fetcher:
            outcomes = fetch_pages(
                fetcher,
                [page for _, page in batch],
                concurrency=context.settings.sources_host_concurrency,
                follow_links=follow,
            )
            async with aclosing(outcomes):
                pages = iter(batch)
                async for outcome in outcomes:
                    page_id, page = next(pages)
                    if not await context.renew_lease():
                        raise SyncSuperseded
                    await _record(context, snapshot, source_id, page_id, page, outcome)
    async with context.sessionmaker() as session, session.begin():
        remaining = await _queued_count(session, source_id, snapshot.generation)
        if remaining:
            await _finish_held(session, context, job)
            await _update_counts(session, source_id, snapshot.generation)
            await jobs_service.enqueue_source_sync(
                session,
                bot_id=snapshot.bot_id,
                source_id=source_id,
                generation=snapshot.generation,
            )
            return
    await _finish_sync(context, job, source_id, snapshot, stopped=None)


def _out_of_time(context: SyncContext, snapshot: _Snapshot) -> bool:
    started = snapshot.sync_started_at
    limit = timedelta(seconds=context.settings.sources_max_sync_s)
    return started is not None and utcnow() - started > limit


async def _next_batch(
    context: SyncContext, source_id: uuid.UUID, generation: int
) -> list[tuple[uuid.UUID, PageToFetch]]:
    async with context.sessionmaker() as session:
        rows = await session.scalars(
            select(SourcePage)
            .where(
                SourcePage.source_id == source_id,
                SourcePage.generation == generation,
                SourcePage.state == PageState.QUEUED.value,
            )
            .order_by(SourcePage.depth, SourcePage.url)
            .limit(context.settings.sources_pages_per_job)
        )
        return [
            (
                row.id,
                PageToFetch(
                    url=row.url,
                    depth=row.depth,
                    has_document=row.document_id is not None,
                    etag=row.etag,
                    last_modified=row.last_modified,
                    content_hash=row.content_hash,
                    links=list(row.links or []),
                ),
            )
            for row in rows
        ]


async def _queued_count(session: AsyncSession, source_id: uuid.UUID, generation: int) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(SourcePage)
        .where(
            SourcePage.source_id == source_id,
            SourcePage.generation == generation,
            SourcePage.state == PageState.QUEUED.value,
        )
    )
    return count or 0


async def _record(
    context: SyncContext,
    snapshot: _Snapshot,
    source_id: uuid.UUID,
    page_id: uuid.UUID,
    page: PageToFetch,
    outcome: PageOutcome,
) -> None:
    """Write one page's outcome (its document, its state) and queue the links it leads to."""
    async with context.sessionmaker() as session, session.begin():
        row = await session.scalar(
            select(SourcePage)
            .where(
                SourcePage.id == page_id,
                SourcePage.generation == snapshot.generation,
                SourcePage.state == PageState.QUEUED.value,
            )
            .with_for_update()
        )
        if row is None:
            return  # recorded by an earlier attempt, or a newer sync took the page over
        owner = await _owner(session, snapshot.bot_id)
        if owner is None:
            return  # the bot is being deleted
        await _apply(session, context, snapshot, source_id, row, owner, outcome)
        if outcome.links and page.depth < snapshot.spec.max_depth:
            await _queue_links(session, context, snapshot, source_id, outcome.links, page.depth + 1)


async def _owner(session: AsyncSession, bot_id: uuid.UUID) -> User | None:
    found: User | None = await session.scalar(
        select(User).join(Bot, Bot.owner_id == User.id).where(Bot.id == bot_id)
    )
    return found


async def _apply(
    session: AsyncSession,
    context: SyncContext,
    snapshot: _Snapshot,
    source_id: uuid.UUID,
    row: SourcePage,
    owner: User,
    outcome: PageOutcome,
) -> None:
    row.error = outcome.reason
    if outcome.result == "gone":
        await _remove_document(session, row, owner)
        row.state = PageState.FAILED.value
        return
    if outcome.result == "failed":
        row.state = PageState.FAILED.value
        return
    if outcome.result == "fetched" and not await _store_page(
        session, context, snapshot, source_id, row, owner, outcome
    ):
        return
    row.state = PageState.DONE.value
    # A 304 need not repeat the validators: keep the ones the page had.
    row.etag = outcome.etag or row.etag
    row.last_modified = outcome.last_modified or row.last_modified
    row.content_hash = outcome.content_hash
    row.links = list(outcome.links)


async def _store_page(
    session: AsyncSession,
    context: SyncContext,
    snapshot: _Snapshot,
    source_id: uuid.UUID,
    row: SourcePage,
    owner: User,
    outcome: PageOutcome,
) -> bool:
    """The page's document, new or re-indexed; False (the page failed) over the plan's quota."""
    assert outcome.kind is not None  # noqa: S101 (a fetched page always has its kind)
    try:
        async with session.begin_nested():
            replaced = row.document_id is not None and await documents_service.replace_page(
                session,
                document_id=row.document_id,
                owner=owner,
                data=outcome.content,
                kind=outcome.kind,
                blobs=context.blobs,
            )
            if not replaced:
                document = await documents_service.accept_page(
                    session,
                    bot_id=snapshot.bot_id,
                    owner=owner,
                    source_id=source_id,
                    url=row.url,
                    data=outcome.content,
                    kind=outcome.kind,
                    blobs=context.blobs,
                )
                row.document_id = document.id
    except QuotaExceeded as refusal:
        row.state = PageState.FAILED.value
        row.error = f"not indexed: {refusal.detail}"
        return False
    return True


async def _remove_document(session: AsyncSession, row: SourcePage, owner: User) -> None:
    if row.document_id is None:
        return
    document = await session.get(Document, row.document_id)
    if document is not None:
        await documents_service.delete_document(session, document=document, owner=owner)
    row.document_id = None


async def _queue_links(
    session: AsyncSession,
    context: SyncContext,
    snapshot: _Snapshot,
    source_id: uuid.UUID,
    links: Sequence[str],
    depth: int,
) -> None:
    """Queue the links the source may follow, up to its ``max_pages`` for this sync."""
    robots, accepted = _robots(context, snapshot.robots_txt), snapshot.spec.url_filter
    wanted = [link for link in links if accepted.accepts(link) and robots.allows(link)]
    if not wanted:
        return
    generation = snapshot.generation
    known = await session.scalars(
        select(SourcePage.url).where(
            SourcePage.source_id == source_id,
            SourcePage.generation == generation,
            SourcePage.url.in_(wanted),
        )
    )
    taken = await session.scalar(
        select(func.count())
        .select_from(SourcePage)
        .where(SourcePage.source_id == source_id, SourcePage.generation == generation)
    )
    room = snapshot.spec.max_pages - (taken or 0)
    fresh = [link for link in wanted if link not in set(known.all())][: max(room, 0)]
    await _queue_pages(session, source_id, generation, fresh, depth=depth)


async def _finish_sync(
    context: SyncContext,
    job: Job,
    source_id: uuid.UUID,
    snapshot: _Snapshot,
    *,
    stopped: str | None,
) -> None:
    """Remove what this sync did not find, set the outcome and schedule the next sync."""
    async with context.sessionmaker() as session, session.begin():
        await _finish_held(session, context, job)
        owner = await _owner(session, snapshot.bot_id)
        if owner is None:
            return
        if stopped is not None:
            await _fail_queued(session, source_id, snapshot.generation)
        await _remove_vanished(session, source_id, snapshot.generation, owner)
        await _update_counts(session, source_id, snapshot.generation)
        source = await session.get(Source, source_id, with_for_update=True)
        if source is None:
            return
        failure = await outcome.first_failure(session, source_id, source.generation)
        outcome.set_outcome(source, stopped, failure)
        await _schedule_next(session, context, source)
        await outcome.announce(session, source)


async def _fail_queued(session: AsyncSession, source_id: uuid.UUID, generation: int) -> None:
    await session.execute(
        update(SourcePage)
        .where(
            SourcePage.source_id == source_id,
            SourcePage.generation == generation,
            SourcePage.state == PageState.QUEUED.value,
        )
        .values(
            state=PageState.FAILED.value, error="not fetched: the sync's time limit was reached"
        )
    )


async def _remove_vanished(
    session: AsyncSession, source_id: uuid.UUID, generation: int, owner: User
) -> None:
    """Pages the previous syncs had and this one did not find: their documents go."""
    vanished = await session.scalars(
        select(SourcePage).where(
            SourcePage.source_id == source_id, SourcePage.generation < generation
        )
    )
    for page in vanished.all():
        await _remove_document(session, page, owner)
        await session.delete(page)


async def _schedule_next(session: AsyncSession, context: SyncContext, source: Source) -> None:
    if source.refresh_interval_hours is None:
        source.next_sync_at = None
        return
    delay = timedelta(hours=source.refresh_interval_hours)
    source.next_sync_at = utcnow() + delay
    await jobs_service.enqueue_source_sync(
        session, bot_id=source.bot_id, source_id=source.id, delay_s=delay.total_seconds()
    )


async def _end_in_error(
    context: SyncContext, job: Job, source_id: uuid.UUID, snapshot: _Snapshot, reason: str
) -> None:
    async with context.sessionmaker() as session, session.begin():
        await _finish_held(session, context, job)
        source = await session.get(Source, source_id, with_for_update=True)
        if source is None:
            return
        source.status = SourceStatus.ERROR.value
        source.error = reason[:2_000]
        source.last_synced_at = utcnow()
        await _schedule_next(session, context, source)
        await outcome.announce(session, source)


async def _set_status(context: SyncContext, source_id: uuid.UUID, status: SourceStatus) -> None:
    async with context.sessionmaker() as session, session.begin():
        await session.execute(
            update(Source).where(Source.id == source_id).values(status=status.value)
        )


async def _finish_held(session: AsyncSession, context: SyncContext, job: Job) -> None:
    if not await jobs_service.finish_job(session, job_id=job.id, worker_id=context.worker_id):
        raise SyncSuperseded


async def _finish_job(context: SyncContext, job: Job) -> None:
    async with context.sessionmaker() as session, session.begin():
        await _finish_held(session, context, job)
