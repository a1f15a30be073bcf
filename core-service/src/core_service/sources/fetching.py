"""Fetching for a sync: robots.txt, sitemaps (the seeds of a sync) and pages, each turned into
an outcome with a reason; nothing here writes to the database."""

import asyncio
import hashlib
from collections import deque
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from core_service.config import Settings
from core_service.documents.kinds import DocumentKind
from core_service.sources.crawl import (
    RobotsRules,
    SitemapContent,
    SitemapUnreadable,
    UrlFilter,
    links_of,
    normalised,
    page_kind,
    read_sitemap,
)
from core_service.sources.models import SourceKind
from core_service.webfetch import FetchFailed, SafeFetcher, UrlNotAllowed, fetcher_from_settings

__all__ = [
    "PageOutcome",
    "PageToFetch",
    "SourceSpec",
    "SyncFailed",
    "fetch_pages",
    "read_robots",
    "seed_urls",
]

_GONE = frozenset({404, 410})
# A sitemap may list 50,000 URLs in 50 MB (the sitemaps protocol); a sync takes at most
# sources_max_pages of them, so a few large sitemaps are enough.
SITEMAP_MAX_BYTES = 20 * 1_048_576
SITEMAPS_PER_SYNC = 10


class SyncFailed(Exception):
    """The sync cannot go on (site unreachable, robots.txt forbids it, sitemap unreadable)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class SourceSpec:
    """What a sync needs to know about its source."""

    kind: SourceKind
    url: str
    max_pages: int
    max_depth: int
    include: Sequence[str]
    exclude: Sequence[str]

    @property
    def url_filter(self) -> UrlFilter:
        """Pages of the source's own site that its globs accept."""
        return UrlFilter(urlsplit(self.url).netloc.lower(), self.include, self.exclude)


@dataclass(frozen=True)
class PageToFetch:
    """A queued page and what the previous sync learnt about it."""

    url: str
    depth: int
    has_document: bool
    etag: str | None
    last_modified: str | None
    content_hash: str | None
    links: Sequence[str] = ()


@dataclass(frozen=True)
class PageOutcome:
    """``fetched`` (new bytes), ``unchanged``, ``gone`` (404/410) or ``failed``, with a reason."""

    result: str
    reason: str | None = None
    content: bytes = b""
    kind: DocumentKind | None = None
    content_hash: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    links: list[str] = field(default_factory=list)


async def read_robots(fetcher: SafeFetcher, url: str) -> str | None:
    """The site's robots.txt (None: none, everything allowed); ``SyncFailed`` if unreachable."""
    parts = urlsplit(url)
    try:
        answer = await fetcher.fetch(f"{parts.scheme}://{parts.netloc}/robots.txt")
    except FetchFailed as failure:
        raise SyncFailed(f"The site could not be reached: {failure.reason}.") from failure
    if answer.status_code in (401, 403):
        return "User-agent: *\nDisallow: /"  # a site that hides its rules forbids crawling
    if answer.status_code >= 500:
        raise SyncFailed(f"The site's robots.txt answered HTTP {answer.status_code}; try later.")
    if answer.status_code != 200:
        return None
    return answer.content.decode("utf-8", errors="replace")


async def seed_urls(settings: Settings, spec: SourceSpec, robots: RobotsRules) -> list[str]:
    """Where the sync starts: the URL itself, or the pages its sitemap(s) list."""
    if spec.kind != SourceKind.SITEMAP:
        if not robots.allows(spec.url):
            raise SyncFailed(f"The site's robots.txt does not allow fetching {spec.url}.")
        return [normalised(spec.url)]
    async with fetcher_from_settings(settings, max_bytes=SITEMAP_MAX_BYTES) as f:
        pages = await _sitemap_pages(f, spec, SITEMAPS_PER_SYNC)
    allowed = [page for page in pages if spec.url_filter.accepts(page) and robots.allows(page)]
    if not allowed:
        raise SyncFailed("The sitemap lists no page this source may fetch (site, globs, robots).")
    return list(dict.fromkeys(allowed))[: spec.max_pages]


async def _sitemap_pages(fetcher: SafeFetcher, spec: SourceSpec, max_sitemaps: int) -> list[str]:
    """Page URLs of the sitemap and of the sitemaps an index lists, up to the bounds."""
    pending, read = [spec.url], 0
    pages: list[str] = []
    while pending and read < max_sitemaps and len(pages) < spec.max_pages * 4:
        content = await _read_one_sitemap(fetcher, pending.pop(0), spec.max_pages * 4)
        read += 1
        pages.extend(content.pages)
        pending.extend(content.sitemaps)
    return pages


async def _read_one_sitemap(fetcher: SafeFetcher, url: str, max_urls: int) -> SitemapContent:
    try:
        answer = await fetcher.fetch(url)
    except FetchFailed as failure:
        raise SyncFailed(f"The sitemap {url} could not be read: {failure.reason}.") from failure
    except UrlNotAllowed as refusal:
        raise SyncFailed(f"The sitemap {url} is not allowed: {refusal.detail}") from refusal
    if answer.status_code != 200:
        raise SyncFailed(f"The sitemap {url} answered HTTP {answer.status_code}.")
    try:
        return await asyncio.to_thread(read_sitemap, answer.content, max_urls=max_urls)
    except SitemapUnreadable as unreadable:
        raise SyncFailed(f"The sitemap {url} cannot be used: {unreadable}.") from unreadable


async def fetch_pages(
    fetcher: SafeFetcher, pages: Sequence[PageToFetch], *, concurrency: int, follow_links: bool
) -> AsyncGenerator[PageOutcome]:
    """Each page's outcome in the pages' order, at most ``concurrency`` requests at once (all
    pages are one site). Close it (``contextlib.aclosing``) to stop the requests left.

    An outcome is handed over before later pages are fetched: holding a whole batch of pages
    (up to the fetch size limit each) in every sync job at once is what made a worker's memory
    grow with its jobs; now each job holds at most ``concurrency`` pages and the one it records.
    """
    fetching: deque[asyncio.Task[PageOutcome]] = deque()
    try:
        for page in pages:
            if len(fetching) == concurrency:
                yield await fetching.popleft()
            fetch = _fetch_page(fetcher, page, follow_links=follow_links)
            fetching.append(asyncio.create_task(fetch))
        while fetching:
            yield await fetching.popleft()
    finally:
        for task in fetching:
            task.cancel()
        await asyncio.gather(*fetching, return_exceptions=True)


def _conditional_headers(page: PageToFetch) -> dict[str, str]:
    if not page.has_document:
        return {}
    headers = {"If-None-Match": page.etag} if page.etag else {}
    if page.last_modified:
        headers["If-Modified-Since"] = page.last_modified
    return headers


async def _fetch_page(
    fetcher: SafeFetcher, page: PageToFetch, *, follow_links: bool
) -> PageOutcome:
    try:
        answer = await fetcher.fetch(page.url, headers=_conditional_headers(page))
    except UrlNotAllowed as refusal:
        return PageOutcome("failed", refusal.detail)
    except FetchFailed as failure:
        return PageOutcome("failed", failure.reason)
    validators = {
        "etag": answer.headers.get("etag"),
        "last_modified": answer.headers.get("last-modified"),
    }
    if answer.status_code == 304 and page.has_document:
        # The links it had are still its links: a crawl finds the pages behind it again.
        kept = list(page.links)
        return PageOutcome("unchanged", content_hash=page.content_hash, links=kept, **validators)
    if answer.status_code in _GONE:
        return PageOutcome("gone", f"the page answered HTTP {answer.status_code}")
    if answer.status_code != 200:
        return PageOutcome("failed", f"the page answered HTTP {answer.status_code}")
    kind = page_kind(answer.headers.get("content-type"))
    if kind is None:
        content_type = answer.headers.get("content-type") or "none"
        return PageOutcome("failed", f"unsupported content type ({content_type[:100]})")
    digest = hashlib.sha256(answer.content).hexdigest()
    links: list[str] = []
    if follow_links and kind == DocumentKind.HTML:
        links = await asyncio.to_thread(links_of, answer.content, base_url=answer.url)
    if digest == page.content_hash and page.has_document:
        return PageOutcome("unchanged", content_hash=digest, links=links, **validators)
    return PageOutcome(
        "fetched", content=answer.content, kind=kind, content_hash=digest, links=links, **validators
    )
