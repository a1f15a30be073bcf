"""Issue 15's document items: reindexing twice or at once, failed documents and quotas,
duplicates, and the stages a document shows while the worker ingests it."""

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from core_service.config import Settings
from core_service.main import create_app
from testsupport.agent_inprocess import AgentHarness, count_vectors
from testsupport.asgi import started_client
from testsupport.core_content import core_client_with_agent, create_bot, drain, make_worker, upload
from testsupport.core_users import SignedUpUser, plans_restored, signup
from testsupport.hostile_files import pdf_of_shared_heavy_stream

BROKEN_PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\ngarbage"


class OnFirstUpsert(httpx.AsyncBaseTransport):
    """In front of the real agent: runs ``action`` once, when the next upsert reaches it."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.action: Callable[[], Awaitable[None]] | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Forward the request, after the armed action if this is an upsert."""
        if self.action is not None and request.url.path == "/v1/index/upsert":
            action, self.action = self.action, None
            await action()
        return await self.inner.handle_async_request(request)


@pytest.fixture
async def hooked(
    core_settings: Settings, core_db: object, agent: AgentHarness
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient, OnFirstUpsert]]:
    """A core app whose agent calls pass through ``OnFirstUpsert``."""
    front = OnFirstUpsert(agent.transport)
    app = create_app(core_settings, agent_transport=front)
    async with started_client(app, base_url="http://core.test") as client:
        yield app, client, front


async def _text_document(
    client: httpx.AsyncClient, user: SignedUpUser, bot_id: str, content: str
) -> dict[str, Any]:
    answer = await client.post(
        f"/api/v1/bots/{bot_id}/documents/text",
        json={"name": "notes", "content": content},
        headers=user.headers,
    )
    assert answer.status_code == 202, answer.text
    body: dict[str, Any] = answer.json()
    return body


TEXT = "\n\n".join(f"Part {n}. " + "rivers carry silt to the delta " * 5 for n in range(12))


async def test_a_reindex_during_a_reindex_leaves_no_stale_vectors(
    hooked: tuple[FastAPI, httpx.AsyncClient, OnFirstUpsert],
    core_settings: Settings,
    agent: AgentHarness,
) -> None:
    app, client, front = hooked
    user = await signup(client)
    bot = await create_bot(client, user, chunk_size=300, chunk_overlap=0)
    document = await _text_document(client, user, bot["id"], TEXT)
    base = f"/api/v1/bots/{bot['id']}/documents/{document['id']}"
    # Several batches: the superseded job notices at its next batch and stops before it
    # deletes the vectors its chunks replaced; the new job must delete them.
    worker = make_worker(app, core_settings, worker_id="w1", ingestion_upsert_batch_size=2)
    await drain(worker)
    seen: dict[str, Any] = {}

    async def reindex_again() -> None:
        # The first reindex has replaced the chunks and is upserting the new ones: the old
        # vectors are not deleted yet when the second request supersedes its job.
        seen["stage"] = (await client.get(base, headers=user.headers)).json()["stage"]
        seen["second"] = (await client.post(f"{base}/reindex", headers=user.headers)).status_code

    await client.post(f"{base}/reindex", headers=user.headers)
    front.action = reindex_again
    await drain(worker)
    after = (await client.get(base, headers=user.headers)).json()

    assert (seen["stage"], seen["second"]) == ("indexing", 202)
    assert (after["status"], after["stage"]) == ("ready", None)
    assert await count_vectors(agent.database_url, namespace=f"bot-{bot['id']}") == (
        after["chunk_count"],
        after["chunk_count"],
    )


async def test_concurrent_reindex_requests_are_serialised(
    content_client: httpx.AsyncClient,
    content_app: FastAPI,
    core_settings: Settings,
    agent: AgentHarness,
) -> None:
    user = await signup(content_client)
    bot = await create_bot(content_client, user, chunk_size=300, chunk_overlap=0)
    document = await _text_document(content_client, user, bot["id"], TEXT)
    base = f"/api/v1/bots/{bot['id']}/documents/{document['id']}"
    worker = make_worker(content_app, core_settings, worker_id="w1")
    await drain(worker)

    answers = await asyncio.gather(
        *(content_client.post(f"{base}/reindex", headers=user.headers) for _ in range(8))
    )
    await drain(worker)
    after = (await content_client.get(base, headers=user.headers)).json()

    assert [answer.status_code for answer in answers] == [202] * 8
    assert after["status"] == "ready"
    assert await count_vectors(agent.database_url, namespace=f"bot-{bot['id']}") == (
        after["chunk_count"],
        after["chunk_count"],
    )


async def _usage(client: httpx.AsyncClient, user: SignedUpUser) -> tuple[int, int]:
    usage = (await client.get("/api/v1/usage", headers=user.headers)).json()
    return usage["documents"]["used"], usage["stored_bytes"]["used"]


async def test_failed_documents_do_not_count_against_the_quotas(
    content_client: httpx.AsyncClient, content_app: FastAPI, core_settings: Settings
) -> None:
    user = await signup(content_client)
    bot = await create_bot(content_client, user)
    worker = make_worker(content_app, core_settings, worker_id="w1")

    broken = (await upload(content_client, user, bot["id"], "broken.pdf", BROKEN_PDF)).json()
    while_processing = await _usage(content_client, user)
    await drain(worker)
    after_failure = await _usage(content_client, user)
    await content_client.delete(
        f"/api/v1/bots/{bot['id']}/documents/{broken['id']}", headers=user.headers
    )
    after_delete = await _usage(content_client, user)
    await upload(content_client, user, bot["id"], "good.txt", b"Fine words.")
    await upload(content_client, user, bot["id"], "broken.pdf", BROKEN_PDF)
    await drain(worker)
    await content_client.delete(f"/api/v1/bots/{bot['id']}", headers=user.headers)
    after_bot_delete = await _usage(content_client, user)

    assert while_processing == (1, len(BROKEN_PDF))
    assert after_failure == (0, 0)
    assert after_delete == (0, 0)
    assert after_bot_delete == (0, 0)


async def test_a_duplicate_is_409_with_the_existing_documents_id(
    content_client: httpx.AsyncClient, content_app: FastAPI, core_settings: Settings
) -> None:
    user = await signup(content_client)
    bot = await create_bot(content_client, user)
    other_bot = await create_bot(content_client, user)
    worker = make_worker(content_app, core_settings, worker_id="w1")

    first = await upload(content_client, user, bot["id"], "a.txt", b"Same words.")
    again = await upload(content_client, user, bot["id"], "copy.txt", b"Same words.")
    pasted = await content_client.post(
        f"/api/v1/bots/{bot['id']}/documents/text",
        json={"name": "pasted", "content": "Same words."},
        headers=user.headers,
    )
    elsewhere = await upload(content_client, user, other_bot["id"], "a.txt", b"Same words.")
    failed = await upload(content_client, user, bot["id"], "b.pdf", BROKEN_PDF)
    await drain(worker)
    retried = await upload(content_client, user, bot["id"], "b.pdf", BROKEN_PDF)

    first_id = first.json()["id"]
    assert (again.status_code, again.json()["error"]) == (409, "DuplicateDocument")
    assert first_id in again.json()["detail"]
    assert again.headers["location"] == f"/api/v1/bots/{bot['id']}/documents/{first_id}"
    assert pasted.status_code == 409
    assert elsewhere.status_code == 202
    assert failed.status_code == 202
    assert retried.status_code == 202  # a failed copy does not block a new try


async def test_uploads_are_rate_limited_per_user_before_the_file_is_looked_at(
    core_settings: Settings, agent: AgentHarness, core_db: object
) -> None:
    settings = core_settings.model_copy(update={"rate_limit_uploads_per_user": 2})
    async with core_client_with_agent(settings, agent) as client:
        user = await signup(client)
        other = await signup(client)
        bot = await create_bot(client, user)
        other_bot = await create_bot(client, other)
        first = await upload(client, user, bot["id"], "a.txt", b"First words.")
        second = await upload(client, user, bot["id"], "b.png", b"\x89PNG not a document")
        third = await upload(client, user, bot["id"], "c.txt", b"Third words.")
        pasted = await client.post(
            f"/api/v1/bots/{bot['id']}/documents/text",
            json={"name": "n", "content": "Pasted."},
            headers=user.headers,
        )
        someone_else = await upload(client, other, other_bot["id"], "a.txt", b"First words.")

    assert (first.status_code, first.json()["stage"]) == (202, "queued")
    assert second.status_code == 415
    assert third.status_code == 429
    assert int(third.headers["retry-after"]) >= 1
    assert pasted.status_code == 429
    assert someone_else.status_code == 202


async def test_an_upload_past_the_document_quota_stores_nothing(
    content_client: httpx.AsyncClient, core_db: AsyncEngine
) -> None:
    user = await signup(content_client)
    bot = await create_bot(content_client, user)
    async with plans_restored(core_db):
        async with core_db.begin() as connection:
            await connection.execute(
                text("UPDATE subscription_plans SET max_documents = 1 WHERE name = 'free'")
            )
        kept = await upload(content_client, user, bot["id"], "a.txt", b"Kept words.")
        started = time.perf_counter()
        refused = await upload(
            content_client, user, bot["id"], "heavy.pdf", pdf_of_shared_heavy_stream()
        )
        refused_s = time.perf_counter() - started
    async with core_db.connect() as connection:
        counts = [
            await connection.scalar(text(f"SELECT count(*) FROM {table}"))  # noqa: S608
            for table in ("documents", "jobs", "blobs")
        ]

    assert kept.status_code == 202
    assert (refused.status_code, refused.json()["error"]) == (429, "QuotaExceeded")
    assert counts == [1, 1, 1]
    assert refused_s < 5  # refused before anything parses the file (that takes a minute)
