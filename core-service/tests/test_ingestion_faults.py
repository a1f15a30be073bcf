"""Ingestion while the agent is down or flaky: nothing is lost, nothing is duplicated."""

import asyncio
import time

import httpx
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from core_service.config import Settings
from core_service.worker.runner import Worker
from testsupport.agent_inprocess import AgentHarness, count_vectors
from testsupport.core_content import create_bot, make_worker, upload
from testsupport.core_users import signup

DOCUMENTS = 20


async def _statuses(client: httpx.AsyncClient, headers: dict[str, str], bot_id: str) -> list[str]:
    page = await client.get(f"/api/v1/bots/{bot_id}/documents?limit=100", headers=headers)
    return sorted(document["status"] for document in page.json()["items"])


async def _jobs(engine: AsyncEngine) -> list[tuple[str, int]]:
    async with engine.connect() as connection:
        rows = await connection.execute(text("SELECT state, attempts FROM jobs"))
        return [(state, attempts) for state, attempts in rows]


async def _run_until_outbox_empty(worker: Worker, engine: AsyncEngine, *, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while await _jobs(engine):
        assert time.monotonic() < deadline, await _jobs(engine)
        if not await worker.run_once():
            await asyncio.sleep(0.02)  # a retried job becomes visible after its short backoff


async def test_agent_down_keeps_every_job_and_recovers_without_duplicates(
    content_client: httpx.AsyncClient,
    content_app: FastAPI,
    core_settings: Settings,
    core_db: AsyncEngine,
    agent: AgentHarness,
) -> None:
    user = await signup(content_client)
    bot = await create_bot(content_client, user, chunk_size=200, chunk_overlap=20)
    namespace = f"bot-{bot['id']}"
    worker = make_worker(content_app, core_settings, worker_id="w1", ingestion_upsert_batch_size=2)
    agent.transport.available = False
    started = time.perf_counter()
    for n in range(DOCUMENTS):
        body = "\n\n".join(
            f"Document {n}, note {k}: " + "seismic waves travel " * 6 for k in range(4)
        )
        answer = await upload(content_client, user, bot["id"], f"{n}.txt", body.encode())
        assert answer.status_code == 202
    uploaded_s = time.perf_counter() - started

    for _ in range(2 * DOCUMENTS):  # every job is tried, some twice, while the agent is down
        if not await worker.run_once():
            await asyncio.sleep(0.02)
    while_down = await _jobs(core_db)
    statuses_down = await _statuses(content_client, user.headers, bot["id"])
    vectors_down = await count_vectors(agent.database_url, namespace=namespace)

    agent.transport.available = True
    agent.transport.refuse_every = 3  # comes back flaky: some batches fail after others landed
    started = time.perf_counter()
    await _run_until_outbox_empty(worker, core_db, timeout_s=60)
    recovered_s = time.perf_counter() - started
    statuses_up = await _statuses(content_client, user.headers, bot["id"])
    page = await content_client.get(
        f"/api/v1/bots/{bot['id']}/documents?limit=100", headers=user.headers
    )
    chunks = sum(document["chunk_count"] for document in page.json()["items"])

    assert statuses_down == ["processing"] * DOCUMENTS
    assert len(while_down) == DOCUMENTS
    assert {state for state, _ in while_down} == {"pending"}
    assert all(attempts >= 1 for _, attempts in while_down)
    assert vectors_down == (0, 0)
    assert statuses_up == ["ready"] * DOCUMENTS
    assert chunks > 2 * DOCUMENTS  # several batches per document
    assert await count_vectors(agent.database_url, namespace=namespace) == (chunks, chunks)
    assert agent.transport.refused > DOCUMENTS
    print(  # noqa: T201 - the figures go into the report
        f"\n{DOCUMENTS} uploads in {uploaded_s:.2f} s; recovery of {chunks} chunks "
        f"through a flaky agent in {recovered_s:.2f} s"
    )


async def test_a_job_fails_with_a_reason_after_the_last_attempt(
    content_client: httpx.AsyncClient,
    content_app: FastAPI,
    core_settings: Settings,
    core_db: AsyncEngine,
    agent: AgentHarness,
) -> None:
    user = await signup(content_client)
    bot = await create_bot(content_client, user)
    worker = make_worker(content_app, core_settings, worker_id="w1", worker_max_attempts=3)
    document = (await upload(content_client, user, bot["id"], "a.txt", b"Some words.")).json()
    agent.transport.available = False

    for _ in range(20):
        if not await worker.run_once():
            await asyncio.sleep(0.02)
        if await _jobs(core_db) == [("failed", 3)]:
            break
    failed = await content_client.get(
        f"/api/v1/bots/{bot['id']}/documents/{document['id']}", headers=user.headers
    )

    assert await _jobs(core_db) == [("failed", 3)]
    assert failed.json()["status"] == "error"
    assert "unavailable" in failed.json()["error"]
    assert "3 attempts" in failed.json()["error"]
