"""Web sources against a loopback website: crawl, sitemap, sync without re-embedding unchanged
pages, removal of vanished pages, and every bad site ending in a clear state with a reason."""

from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from core_service.config import Settings
from core_service.main import create_app
from core_service.sources.fetching import PageToFetch, fetch_pages
from core_service.webfetch import fetcher_from_settings
from testsupport.agent_inprocess import AgentHarness, count_vectors
from testsupport.core_content import create_bot, drain, make_pdf, make_worker, upload
from testsupport.core_schema import model_differences
from testsupport.core_users import SignedUpUser, signup
from testsupport.website import Page, Website, html_page, recording_listener, website


class CountingTransport(httpx.AsyncBaseTransport):
    """In front of the agent: counts the embedding (upsert) calls core makes."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.upserts = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/index/upsert"):
            self.upserts += 1
        return await self.inner.handle_async_request(request)


@dataclass
class Harness:
    app: FastAPI
    client: httpx.AsyncClient
    settings: Settings
    agent: CountingTransport
    agent_harness: AgentHarness

    async def drain(self) -> int:
        return await drain(make_worker(self.app, self.settings, worker_id="w"))


@pytest.fixture
async def sources(
    core_settings: Settings, core_db: AsyncEngine, agent: AgentHarness
) -> AsyncIterator[Harness]:
    """A core app that may fetch 127.0.0.1 (the test sites), with a counted agent."""
    settings = core_settings.model_copy(
        update={"fetch_allowed_networks": "127.0.0.1/32", "fetch_timeout_s": 2.0}
    )
    counting = CountingTransport(agent.transport)
    app = create_app(settings, agent_transport=counting)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://core.test") as client:
            yield Harness(app, client, settings, counting, agent)


@pytest.fixture
def site() -> Iterator[Website]:
    with website() as started:
        started.pages["/robots.txt"] = Page(
            body=b"User-agent: *\nDisallow: /private\n", content_type="text/plain"
        )
        yield started


async def add_source(h: Harness, user: SignedUpUser, bot_id: str, **body: Any) -> dict[str, Any]:
    answer = await h.client.post(f"/api/v1/bots/{bot_id}/sources", json=body, headers=user.headers)
    assert answer.status_code == 202, answer.text
    source: dict[str, Any] = answer.json()
    return source


async def get_source(h: Harness, user: SignedUpUser, bot_id: str, source_id: str) -> Any:
    answer = await h.client.get(f"/api/v1/bots/{bot_id}/sources/{source_id}", headers=user.headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def documents_by_url(h: Harness, user: SignedUpUser, bot_id: str) -> dict[str, Any]:
    answer = await h.client.get(f"/api/v1/bots/{bot_id}/documents?limit=100", headers=user.headers)
    return {d["url"]: d for d in answer.json()["items"] if d["url"]}


def three_page_site(site: Website) -> None:
    site.pages["/"] = html_page("Home", "Welcome to the llama farm.", ("/a", "/b", "/private"))
    site.pages["/a"] = html_page("Alpacas", "Alpacas are smaller than llamas.", ("/",))
    site.pages["/b"] = html_page("Feeding", "Llamas eat hay and grass.", ("/",))
    site.pages["/private"] = html_page("Secret", "robots.txt forbids this page.")


async def test_a_crawl_indexes_pages_and_a_sync_skips_the_unchanged_ones(
    sources: Harness, site: Website
) -> None:
    h = sources
    user = await signup(h.client)
    bot = await create_bot(h.client, user)
    three_page_site(site)
    source = await add_source(h, user, bot["id"], kind="crawl", url=site.url("/"), max_depth=2)
    await h.drain()
    first = await get_source(h, user, bot["id"], source["id"])
    docs = await documents_by_url(h, user, bot["id"])
    first_upserts = h.agent.upserts

    assert first["status"] == "ready", first
    assert (first["pages_found"], first["pages_indexed"], first["pages_failed"]) == (3, 3, 0)
    assert set(docs) == {site.url("/"), site.url("/a"), site.url("/b")}
    assert all(d["status"] == "ready" and d["source_id"] == source["id"] for d in docs.values())
    assert "/private" not in site.paths_requested()
    home_text = await content_of(h, user, bot["id"], docs[site.url("/")]["id"])
    assert "Welcome to the llama farm." in home_text
    assert home_text.startswith("Home")  # the title is kept
    assert "Copyright footer" not in home_text  # the page's chrome is not
    assert "/private" not in home_text
    assert all("ChatSphere" in headers["User-Agent"] for _, _, headers in site.requests)

    # Between syncs: /b changes, /a disappears, /c appears (linked from /b).
    site.pages["/b"] = html_page("Feeding", "Llamas eat hay, grass and carrots.", ("/c",))
    del site.pages["/a"]
    site.pages["/c"] = html_page("Shearing", "Llamas are sheared in spring.")
    site.requests.clear()
    synced = await h.client.post(
        f"/api/v1/bots/{bot['id']}/sources/{source['id']}/sync", headers=user.headers
    )
    await h.drain()
    second = await get_source(h, user, bot["id"], source["id"])
    after = await documents_by_url(h, user, bot["id"])

    assert synced.status_code == 202
    assert second["status"] == "ready", second
    assert set(after) == {site.url("/"), site.url("/b"), site.url("/c")}
    assert after[site.url("/")]["id"] == docs[site.url("/")]["id"]  # unchanged, kept
    assert after[site.url("/b")]["id"] == docs[site.url("/b")]["id"]  # changed, same id
    assert "carrots" in await content_of(h, user, bot["id"], after[site.url("/b")]["id"])
    assert h.agent.upserts - first_upserts == 2  # /b and /c only; / was not embedded again
    home_request = next(hd for m, p, hd in site.requests if p == "/")
    assert home_request.get("If-None-Match")  # asked conditionally
    namespace = f"bot-{bot['id']}"
    chunks = await chunk_count(h, user, bot["id"], after)
    assert await count_vectors(h.agent_harness.database_url, namespace=namespace) == (
        chunks,
        chunks,
    )


async def content_of(h: Harness, user: SignedUpUser, bot_id: str, document_id: str) -> str:
    answer = await h.client.get(
        f"/api/v1/bots/{bot_id}/documents/{document_id}/chunks", headers=user.headers
    )
    return " ".join(chunk["content"] for chunk in answer.json()["items"])


async def chunk_count(h: Harness, user: SignedUpUser, bot_id: str, docs: dict[str, Any]) -> int:
    return sum(d["chunk_count"] for d in docs.values())


def sitemap(*urls: str) -> Page:
    entries = "".join(f"<url><loc>{url}</loc></url>" for url in urls)
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</urlset>'
    )
    return Page(body=body.encode(), content_type="application/xml")


async def test_a_sitemap_source_follows_its_sitemap_and_drops_what_left_it(
    sources: Harness, site: Website
) -> None:
    h = sources
    user = await signup(h.client)
    bot = await create_bot(h.client, user)
    for name in ("p1", "p2", "p3", "skip"):
        site.pages[f"/docs/{name}"] = html_page(name, f"Page {name} about llamas.")
    site.pages["/notes.txt"] = Page(body=b"Plain notes about llamas.", content_type="text/plain")
    site.pages["/guide.pdf"] = Page(
        body=make_pdf("A PDF guide to llama care."), content_type="application/pdf"
    )
    listed = [site.url(f"/docs/{n}") for n in ("p1", "p2", "p3", "skip")]
    extra = (site.url("/notes.txt"), site.url("/guide.pdf"))
    site.pages["/sitemap.xml"] = sitemap(*listed, "http://other.invalid/x", *extra)
    source = await add_source(
        h,
        user,
        bot["id"],
        kind="sitemap",
        url=site.url("/sitemap.xml"),
        include=["/docs/*", "/notes.txt", "/*.pdf"],
        exclude=["/docs/skip"],
    )
    await h.drain()
    first = await get_source(h, user, bot["id"], source["id"])
    docs = await documents_by_url(h, user, bot["id"])

    assert first["status"] == "ready", first
    assert set(docs) == {*listed[:3], *extra}
    assert docs[site.url("/notes.txt")]["content_type"] == "text/plain"
    pdf = docs[site.url("/guide.pdf")]
    assert (pdf["content_type"], pdf["status"]) == ("application/pdf", "ready")
    assert "llama care" in await content_of(h, user, bot["id"], pdf["id"])

    site.pages["/sitemap.xml"] = sitemap(*listed[:2])
    await h.client.post(
        f"/api/v1/bots/{bot['id']}/sources/{source['id']}/sync", headers=user.headers
    )
    await h.drain()
    second = await get_source(h, user, bot["id"], source["id"])
    after = await documents_by_url(h, user, bot["id"])

    assert second["pages_found"] == 2
    assert set(after) == set(listed[:2])
    chunks = await chunk_count(h, user, bot["id"], after)
    namespace = f"bot-{bot['id']}"
    assert await count_vectors(h.agent_harness.database_url, namespace=namespace) == (
        chunks,
        chunks,
    )


BAD_PAGES: dict[str, Page] = {
    "/missing-target": Page(status=404, body=b"gone", content_type="text/plain"),
    "/broken": Page(status=500, body=b"oops", content_type="text/plain"),
    "/loop1": Page(status=302, headers={"Location": "/loop2"}),
    "/loop2": Page(status=302, headers={"Location": "/loop1"}),
    "/to-metadata": Page(status=302, headers={"Location": "http://169.254.169.254/latest/"}),
    "/huge": Page(stream_bytes=40 * 1_048_576, with_etag=False),
    "/binary": Page(body=bytes(range(256)) * 64, content_type="application/octet-stream"),
    "/slow": Page(body=b"<p>late</p>", delay_s=3),
    "/bad-sitemap.xml": Page(body=b"<urlset><url><loc>oops", content_type="application/xml"),
    "/not-a-sitemap.xml": Page(body=b"<html><body>hi</body></html>"),
}
BAD_CASES = [
    ("url", "/missing-target", "error", "HTTP 404"),
    ("url", "/broken", "error", "HTTP 500"),
    ("url", "/loop1", "error", "loop"),
    ("url", "/to-metadata", "error", "private or reserved"),
    ("url", "/huge", "error", "larger than"),
    ("url", "/binary", "error", "unsupported content type"),
    ("url", "/slow", "error", "within 2 s"),
    ("sitemap", "/bad-sitemap.xml", "error", "not valid XML"),
    ("sitemap", "/not-a-sitemap.xml", "error", "not a sitemap"),
]


async def test_bad_sites_end_in_a_clear_state_with_a_reason(
    sources: Harness, site: Website
) -> None:
    h = sources
    user = await signup(h.client)
    bot = await create_bot(h.client, user)
    site.pages.update(BAD_PAGES)
    with recording_listener() as closed:
        unreachable = f"http://127.0.0.1:{closed.port}/"
    created = [
        (await add_source(h, user, bot["id"], kind=kind, url=site.url(path)), reason)
        for kind, path, _, reason in BAD_CASES
    ]
    created.append(
        (await add_source(h, user, bot["id"], kind="url", url=unreachable), "could not be reached")
    )
    await h.drain()

    outcomes = [(await get_source(h, user, bot["id"], s["id"]), r) for s, r in created]
    for source, reason in outcomes:
        assert source["status"] == "error", source
        assert reason in (source["error"] or ""), source
    assert await documents_by_url(h, user, bot["id"]) == {}


async def test_robots_disallowing_everything_stops_the_source(sources: Harness) -> None:
    h = sources
    user = await signup(h.client)
    bot = await create_bot(h.client, user)
    with website() as site:
        site.pages["/robots.txt"] = Page(
            body=b"User-agent: *\nDisallow: /\n", content_type="text/plain"
        )
        site.pages["/"] = html_page("Home", "Nothing for robots.")
        source = await add_source(h, user, bot["id"], kind="crawl", url=site.url("/"))
        await h.drain()
        state = await get_source(h, user, bot["id"], source["id"])
        assert site.paths_requested() == ["/robots.txt"]
    assert state["status"] == "error"
    assert "robots.txt does not allow" in state["error"]


async def test_a_sitemap_of_100k_urls_is_read_up_to_max_pages(
    sources: Harness, site: Website
) -> None:
    h = sources
    user = await signup(h.client)
    bot = await create_bot(h.client, user)
    site.pages["/sitemap.xml"] = sitemap(*(site.url(f"/p/{n}") for n in range(100_000)))
    for n in range(5):
        site.pages[f"/p/{n}"] = html_page(f"P{n}", f"Page {n}.")
    source = await add_source(
        h, user, bot["id"], kind="sitemap", url=site.url("/sitemap.xml"), max_pages=5
    )
    await h.drain()
    state = await get_source(h, user, bot["id"], source["id"])

    assert (state["status"], state["pages_found"], state["pages_indexed"]) == ("ready", 5, 5)
    assert len([p for p in site.paths_requested() if p.startswith("/p/")]) == 5


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "http://[::1]/",
        "ftp://example.com/",
        "file:///etc/passwd",
        "http://127.0.0.2:5432/",  # loopback outside the trusted 127.0.0.1/32
    ],
)
async def test_a_refused_url_is_answered_422_and_nothing_is_stored(
    sources: Harness, core_db: AsyncEngine, url: str
) -> None:
    h = sources
    user = await signup(h.client)
    bot = await create_bot(h.client, user)
    answer = await h.client.post(
        f"/api/v1/bots/{bot['id']}/sources", json={"kind": "url", "url": url}, headers=user.headers
    )
    async with core_db.connect() as connection:
        stored = await connection.scalar(text("SELECT count(*) FROM sources"))

    assert answer.status_code == 422
    assert answer.json()["error"] == "UrlNotAllowed"
    assert stored == 0


async def test_deleting_a_source_removes_its_documents_and_vectors(
    sources: Harness, site: Website
) -> None:
    h = sources
    user = await signup(h.client)
    bot = await create_bot(h.client, user)
    three_page_site(site)
    await upload(h.client, user, bot["id"], "own.txt", b"An uploaded note about llamas.")
    source = await add_source(h, user, bot["id"], kind="crawl", url=site.url("/"))
    await h.drain()
    base = f"/api/v1/bots/{bot['id']}/sources/{source['id']}"

    deleted = await h.client.delete(base, headers=user.headers)
    await h.drain()
    gone = await h.client.get(base, headers=user.headers)
    left = (await h.client.get(f"/api/v1/bots/{bot['id']}/documents", headers=user.headers)).json()

    assert deleted.status_code == 204
    assert gone.status_code == 404
    assert [d["name"] for d in left["items"]] == ["own.txt"]
    chunks = left["items"][0]["chunk_count"]
    namespace = f"bot-{bot['id']}"
    assert await count_vectors(h.agent_harness.database_url, namespace=namespace) == (
        chunks,
        chunks,
    )


async def test_another_users_source_is_a_404(sources: Harness, site: Website) -> None:
    h = sources
    owner, other = await signup(h.client), await signup(h.client)
    bot = await create_bot(h.client, owner)
    site.pages["/"] = html_page("Home", "Mine.")
    source = await add_source(h, owner, bot["id"], kind="url", url=site.url("/"))
    base = f"/api/v1/bots/{bot['id']}/sources"
    answers = [
        await h.client.get(f"{base}/{source['id']}", headers=other.headers),
        await h.client.post(f"{base}/{source['id']}/sync", headers=other.headers),
        await h.client.delete(f"{base}/{source['id']}", headers=other.headers),
        await h.client.get(base, headers=other.headers),
    ]
    assert [a.status_code for a in answers] == [404, 404, 404, 404]


async def test_a_refresh_interval_schedules_the_next_sync(
    sources: Harness, site: Website, core_db: AsyncEngine
) -> None:
    h = sources
    user = await signup(h.client)
    bot = await create_bot(h.client, user)
    site.pages["/"] = html_page("Home", "Refreshed daily.")
    source = await add_source(
        h, user, bot["id"], kind="url", url=site.url("/"), refresh_interval_hours=24
    )
    await h.drain()
    state = await get_source(h, user, bot["id"], source["id"])
    async with core_db.connect() as connection:
        waiting = await connection.scalar(
            text(
                "SELECT extract(epoch FROM visible_after - now()) FROM jobs "
                "WHERE kind = 'sync_source' AND state = 'pending'"
            )
        )

    assert state["status"] == "ready"
    assert state["next_sync_at"] is not None
    assert waiting is not None
    assert 23 * 3600 < float(waiting) <= 24 * 3600


async def test_a_big_crawl_does_not_starve_another_users_document(
    sources: Harness, site: Website
) -> None:
    h = sources
    crawler, other = await signup(h.client), await signup(h.client)
    crawler_bot, other_bot = await create_bot(h.client, crawler), await create_bot(h.client, other)
    links = tuple(f"/page/{n}" for n in range(40))
    site.pages["/"] = html_page("Index", "Many pages.", links)
    for path in links:
        site.pages[path] = html_page(path, f"Text of {path}.")
    source = await add_source(h, crawler, crawler_bot["id"], kind="crawl", url=site.url("/"))
    worker = make_worker(h.app, h.settings, worker_id="w", sources_pages_per_job=4)
    for _ in range(3):
        await worker.run_once()  # the crawl is well under way
    document = (await upload(h.client, other, other_bot["id"], "n.txt", b"Someone else.")).json()
    url = f"/api/v1/bots/{other_bot['id']}/documents/{document['id']}"
    jobs_until_ready = 0
    while (await h.client.get(url, headers=other.headers)).json()["status"] != "ready":
        assert await worker.run_once()
        jobs_until_ready += 1
    crawl = await get_source(h, crawler, crawler_bot["id"], source["id"])

    assert jobs_until_ready <= 2
    assert crawl["status"] == "syncing"  # still crawling when the other document was ready
    await drain(worker)


async def test_the_migration_matches_the_models(core_db: AsyncEngine) -> None:
    assert await model_differences(core_db, "sources", "source_pages", "documents") == []


async def test_a_sync_past_its_time_limit_stops_with_a_reason(
    sources: Harness, site: Website
) -> None:
    h = sources
    user = await signup(h.client)
    bot = await create_bot(h.client, user)
    three_page_site(site)
    source = await add_source(h, user, bot["id"], kind="crawl", url=site.url("/"))
    # The limit has passed by the time the first batch of pages comes up.
    await drain(make_worker(h.app, h.settings, worker_id="w", sources_max_sync_s=0.001))
    state = await get_source(h, user, bot["id"], source["id"])

    assert state["status"] == "error"
    assert "time limit" in state["error"]
    assert (state["pages_found"], state["pages_failed"]) == (1, 1)
    assert site.paths_requested() == ["/robots.txt"]


async def test_a_batch_hands_over_its_first_page_before_fetching_the_rest(
    core_settings: Settings, site: Website
) -> None:
    for n in range(8):
        site.pages[f"/p{n}"] = html_page(f"Page {n}", f"Text of page {n}.")
    settings = core_settings.model_copy(update={"fetch_allowed_networks": "127.0.0.1/32"})
    pages = [
        PageToFetch(
            site.url(f"/p{n}"),
            1,
            has_document=False,
            etag=None,
            last_modified=None,
            content_hash=None,
        )
        for n in range(8)
    ]
    requested_at_first: int | None = None
    bodies = []
    async with fetcher_from_settings(settings) as fetcher:
        outcomes = fetch_pages(fetcher, pages, concurrency=2, follow_links=False)
        async with aclosing(outcomes):
            async for outcome in outcomes:
                if requested_at_first is None:
                    requested_at_first = len(site.paths_requested())
                bodies.append(outcome.content)
    # A sync job holds the pages it fetched until it records them: with the batch fetched
    # whole first, every job of a worker held eight pages at once.
    assert requested_at_first is not None
    assert requested_at_first <= 2
    assert [html_page(f"Page {n}", f"Text of page {n}.").body for n in range(8)] == bodies
