"""Upgrading to another embedder: ``POST /api/v1/admin/reindex`` re-indexes a whole deployment.

Each embedder has its own vector table, so an agent started on a new embedder finds nothing for
documents indexed before; the staff call queues their re-index, and repeating it with the cutoff
it returned queues nothing twice (an interrupted run resumes).
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from agent_service.config import EmbedderKind, Environment
from agent_service.config import Settings as AgentSettings
from agent_service.main import create_app as create_agent_app
from core_service.config import Settings
from testsupport.agent_inprocess import AgentHarness
from testsupport.core_content import create_bot, drain, make_worker
from testsupport.core_users import SignedUpUser, signup
from testsupport.service_process import running_uvicorn

REINDEX = "/api/v1/admin/reindex"
PASSAGES = {
    "backups": "Nightly backups start at 02:00 and copy every volume to the archive bucket.",
    "holidays": "Employees get 25 days of paid holiday per year, plus public holidays.",
}


@asynccontextmanager
async def agent_on(agent: AgentHarness, embedder: EmbedderKind) -> AsyncIterator[None]:
    """Core's agent is, meanwhile, another agent app on the same database with ``embedder``."""
    settings = AgentSettings(
        environment=Environment.TEST,
        database_url=agent.database_url,
        embedder=embedder,
        gc_tuning=False,
    )
    app = create_agent_app(settings)
    inner = agent.transport.inner
    async with app.router.lifespan_context(app):
        agent.transport.inner = httpx.ASGITransport(app=app)
        try:
            yield
        finally:
            agent.transport.inner = inner


async def _documents(client: httpx.AsyncClient, user: SignedUpUser) -> tuple[str, list[str]]:
    bot = await create_bot(client, user)
    ids = []
    for name, content in PASSAGES.items():
        created = await client.post(
            f"/api/v1/bots/{bot['id']}/documents/text",
            json={"name": name, "content": content},
            headers=user.headers,
        )
        assert created.status_code == 202, created.text
        ids.append(created.json()["id"])
    return str(bot["id"]), ids


async def _retrieved(client: httpx.AsyncClient, user: SignedUpUser, bot_id: str) -> list[str]:
    conversation = await client.post(
        f"/api/v1/bots/{bot_id}/conversations", json={}, headers=user.headers
    )
    answer = await client.post(
        f"/api/v1/conversations/{conversation.json()['id']}/messages",
        json={"content": "When do the nightly backups start?"},
        headers=user.headers,
    )
    assert answer.status_code == 200, answer.text
    return [c["document_name"] for c in answer.json()["assistant_message"]["citations"]]


async def test_after_an_embedder_change_reindex_restores_answers_once(
    content_client: httpx.AsyncClient,
    content_app: FastAPI,
    core_settings: Settings,
    core_db: AsyncEngine,
    agent: AgentHarness,
) -> None:
    owner = await signup(content_client)
    staff = await signup(content_client, engine=core_db, staff=True)
    worker = make_worker(content_app, core_settings, worker_id="w1")
    async with agent_on(agent, EmbedderKind.HASH):
        bot_id, _ = await _documents(content_client, owner)
        await drain(worker)
        before_upgrade = await _retrieved(content_client, owner, bot_id)
    # The agent now runs on its new default: an empty table for this deployment.
    after_upgrade = await _retrieved(content_client, owner, bot_id)

    first = await content_client.post(REINDEX, json={"limit": 1}, headers=staff.headers)
    cutoff = first.json()["indexed_before"]
    rest = await content_client.post(
        REINDEX, json={"indexed_before": cutoff}, headers=staff.headers
    )
    await drain(worker)
    again = await content_client.post(
        REINDEX, json={"indexed_before": cutoff}, headers=staff.headers
    )
    after_reindex = await _retrieved(content_client, owner, bot_id)

    assert before_upgrade[:1] == ["backups"]
    assert after_upgrade == []
    assert (first.status_code, first.json()["queued"]) == (202, 1)
    assert (rest.status_code, rest.json()["queued"]) == (202, 1)
    assert (again.status_code, again.json()["queued"]) == (202, 0)
    assert after_reindex[:1] == ["backups"]


async def test_reindex_is_for_staff_and_wants_an_aware_cutoff(
    content_client: httpx.AsyncClient, core_db: AsyncEngine
) -> None:
    user = await signup(content_client)
    staff = await signup(content_client, engine=core_db, staff=True)
    forbidden = await content_client.post(REINDEX, headers=user.headers)
    naive = await content_client.post(
        REINDEX, json={"indexed_before": "2026-01-01T00:00:00"}, headers=staff.headers
    )
    empty = await content_client.post(REINDEX, headers=staff.headers)
    assert (forbidden.status_code, forbidden.json()["error"]) == (403, "Forbidden")
    assert naive.status_code == 422
    assert (empty.status_code, empty.json()["queued"]) == (202, 0)


@pytest.mark.slow
async def test_over_a_real_socket_the_queued_reindex_is_committed_before_the_answer(
    core_database_url: str, core_db: AsyncEngine
) -> None:
    env = {
        "CORE_ENVIRONMENT": "test",
        "CORE_DATABASE_URL": core_database_url,
        "CORE_AGENT_URL": "http://127.0.0.1:9",  # no worker runs: the jobs stay queued
        "CORE_ARGON2_MEMORY_KIB": "1024",
        "CORE_ARGON2_TIME_COST": "1",
        "CORE_ARGON2_PARALLELISM": "1",
    }
    with running_uvicorn("core_service.main:create_app", env) as core:
        async with httpx.AsyncClient(base_url=core.base_url, timeout=30) as client:
            owner = await signup(client)
            staff = await signup(client, engine=core_db, staff=True)
            bot_id, document_ids = await _documents(client, owner)
            # As an earlier worker would have left them, indexed by the previous embedder.
            async with core_db.begin() as connection:
                await connection.execute(
                    text("UPDATE documents SET status = 'ready', stage = NULL")
                )
            queued = await client.post(REINDEX, headers=staff.headers)
        # A new connection, as the operator's next command: it must see the committed state.
        async with httpx.AsyncClient(base_url=core.base_url, timeout=30) as other:
            seen = await other.get(
                f"/api/v1/bots/{bot_id}/documents/{document_ids[0]}", headers=owner.headers
            )
            again = await other.post(
                REINDEX,
                json={"indexed_before": queued.json()["indexed_before"]},
                headers=staff.headers,
            )
    assert (queued.status_code, queued.json()["queued"]) == (202, 2)
    assert seen.json()["status"] == "processing"
    assert again.json()["queued"] == 0
