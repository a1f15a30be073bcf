"""Web sources through real processes: the core API, the agent and the worker, crawling a
loopback website; an answer cites a crawled page by its URL.

``SOURCES_PAGES`` (default 30; at most 99 on the free plan's 100 documents) sets the size of the
site; the crawl's pages per second, the second (unchanged) sync's time and the embedding calls of
both syncs are printed for BENCHMARKS.md.
"""

import asyncio
import os
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from core_service.migrate import upgrade_to_head_async
from testsupport.core_content import create_bot
from testsupport.core_users import SignedUpUser, signup
from testsupport.postgres import PostgresServer
from testsupport.service_process import ServiceProcess, running_uvicorn, running_worker
from testsupport.website import Page, Website, html_page, website

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

PAGES = int(os.environ.get("SOURCES_PAGES", "30"))
TOPICS = ("glaciers", "volcanoes", "comets", "tides", "deserts", "coral reefs")


@pytest.fixture
async def databases(postgres_server: PostgresServer) -> AsyncIterator[dict[str, str]]:
    """A migrated core database and an agent database, dropped afterwards."""
    core = await postgres_server.create_database("core_sources")
    agent = await postgres_server.create_database("agent_sources")
    core_url = postgres_server.url_for(core, driver="postgresql+asyncpg")
    await upgrade_to_head_async(core_url)
    yield {"core": core_url, "agent": postgres_server.url_for(agent)}
    for name in (core, agent):
        await postgres_server.drop_database(name)


@pytest.fixture
def services(databases: dict[str, str]) -> Iterator[dict[str, ServiceProcess]]:
    """Agent, core and worker processes; core may fetch 127.0.0.1 (the test site)."""
    agent_env = {"AGENT_ENVIRONMENT": "test", "AGENT_DATABASE_URL": databases["agent"]}
    with running_uvicorn("agent_service.main:create_app", agent_env) as agent:
        core_env = {
            "CORE_ENVIRONMENT": "test",
            "CORE_DATABASE_URL": databases["core"],
            "CORE_AGENT_URL": agent.base_url,
            "CORE_FETCH_ALLOWED_NETWORKS": "127.0.0.1/32",
            "CORE_WORKER_POLL_INTERVAL_S": "0.05",
            "CORE_RATE_LIMIT_REGISTER_PER_ADDRESS": "1000",
        }
        with (
            running_uvicorn("core_service.main:create_app", core_env) as core,
            running_worker(core_env) as worker,
        ):
            yield {"agent": agent, "core": core, "worker": worker}


def build_site(site: Website, pages: int) -> None:
    """An index linking to ``pages`` articles, each about one topic, with navigation around."""
    links = tuple(f"/articles/{n}" for n in range(pages))
    site.pages["/robots.txt"] = Page(body=b"User-agent: *\nAllow: /\n", content_type="text/plain")
    site.pages["/"] = html_page("Science notes", "An index of short articles.", links)
    for n, path in enumerate(links):
        topic = TOPICS[n % len(TOPICS)]
        text = f"Article {n} explains {topic}: how {topic} form, change and affect people. " * 5
        site.pages[path] = html_page(f"About {topic} ({n})", text, ("/",))


async def wait_for_sync(
    client: httpx.AsyncClient, user: SignedUpUser, url: str, *, previous: str | None
) -> dict[str, Any]:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        source: dict[str, Any] = (await client.get(url, headers=user.headers)).json()
        if source["status"] in ("ready", "error") and source["last_synced_at"] != previous:
            return source
        await asyncio.sleep(0.1)
    raise AssertionError(f"the sync did not end: {source}")


async def wait_for_documents(
    client: httpx.AsyncClient, user: SignedUpUser, bot_id: str
) -> list[Any]:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        answer = await client.get(
            f"/api/v1/bots/{bot_id}/documents?limit=100", headers=user.headers
        )
        items: list[Any] = answer.json()["items"]
        if items and all(d["status"] != "processing" for d in items):
            return items
        await asyncio.sleep(0.1)
    raise AssertionError("the pages were not indexed in time")


def upsert_calls(agent: ServiceProcess) -> int:
    """Index (embedding) calls the agent has answered, from its Prometheus metrics."""
    metrics = httpx.get(f"{agent.base_url}/metrics", timeout=10).text
    return sum(
        int(float(line.rsplit(" ", 1)[1]))
        for line in metrics.splitlines()
        if line.startswith("chatsphere_agent_http_requests_total") and "index/upsert" in line
    )


async def test_a_crawl_through_real_processes_is_cited_by_url(
    services: dict[str, ServiceProcess],
) -> None:
    with website() as site:
        build_site(site, PAGES)
        async with httpx.AsyncClient(base_url=services["core"].base_url, timeout=30) as client:
            user = await signup(client)
            bot = await create_bot(client, user)
            upserts_before = upsert_calls(services["agent"])
            started = time.monotonic()
            created = await client.post(
                f"/api/v1/bots/{bot['id']}/sources",
                json={"kind": "crawl", "url": site.url("/"), "max_pages": PAGES + 1},
                headers=user.headers,
            )
            source_url = f"/api/v1/bots/{bot['id']}/sources/{created.json()['id']}"
            first = await wait_for_sync(client, user, source_url, previous=None)
            fetched_s = time.monotonic() - started
            documents = await wait_for_documents(client, user, bot["id"])
            crawl_s = time.monotonic() - started
            first_upserts = upsert_calls(services["agent"]) - upserts_before

            started = time.monotonic()
            await client.post(f"{source_url}/sync", headers=user.headers)
            second = await wait_for_sync(client, user, source_url, previous=first["last_synced_at"])
            resync_s = time.monotonic() - started
            after = await wait_for_documents(client, user, bot["id"])
            second_upserts = upsert_calls(services["agent"]) - upserts_before - first_upserts

            conversation = await client.post(
                f"/api/v1/bots/{bot['id']}/conversations", json={}, headers=user.headers
            )
            turn = await client.post(
                f"/api/v1/conversations/{conversation.json()['id']}/messages",
                json={"content": "How do glaciers form?"},
                headers=user.headers,
            )

    print(  # noqa: T201 - the figures BENCHMARKS.md quotes
        f"\nsources: {PAGES + 1} pages crawled in {fetched_s:.2f} s "
        f"({(PAGES + 1) / fetched_s:.1f} pages/s), crawled and indexed in {crawl_s:.2f} s "
        f"({(PAGES + 1) / crawl_s:.1f} pages/s); unchanged re-sync {resync_s:.2f} s; "
        f"embedding calls: first sync {first_upserts}, re-sync {second_upserts}"
    )
    assert created.status_code == 202, created.text
    assert (first["status"], first["pages_indexed"]) == ("ready", PAGES + 1), first["error"]
    assert all(d["status"] == "ready" for d in documents)
    assert (second["status"], second["pages_indexed"]) == ("ready", PAGES + 1), second["error"]
    assert sorted(d["id"] for d in after) == sorted(d["id"] for d in documents)
    assert [d["updated_at"] for d in sorted(after, key=lambda d: d["id"])] == [
        d["updated_at"] for d in sorted(documents, key=lambda d: d["id"])
    ]  # nothing re-indexed
    assert first_upserts >= PAGES + 1
    assert second_upserts == 0
    citations = turn.json()["assistant_message"]["citations"]
    assert citations, turn.text
    assert all(c["url"] and c["url"].startswith(site.base_url) for c in citations)
