"""SIGTERM to real core processes: a slow stream still finishes, and the worker keeps its job.

The services run as the images run them (uvicorn with --timeout-graceful-shutdown, and
``python -m core_service.worker``). The agent is a loopback stub that answers slowly on purpose,
so that the signal lands while a stream or an upsert is in flight.
"""

import asyncio
import json
import time
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from testsupport.core_content import create_bot
from testsupport.core_users import signup
from testsupport.service_process import (
    exited_after_sigterm,
    first_event_index,
    free_port,
    log_events,
    port_is_closed,
    running_uvicorn,
    running_worker,
)
from testsupport.stub_agent import running_slow_agent

TOKENS = [f"word{i} " for i in range(8)]
TOKEN_INTERVAL_S = 0.25

pytestmark = pytest.mark.slow


def _core_env(database_url: str, agent_url: str) -> dict[str, str]:
    return {
        "CORE_ENVIRONMENT": "test",
        "CORE_DATABASE_URL": database_url,
        "CORE_AGENT_URL": agent_url,
        # Cheap password hashing: the test measures shutdown, not argon2.
        "CORE_ARGON2_MEMORY_KIB": "1024",
        "CORE_ARGON2_TIME_COST": "1",
        "CORE_ARGON2_PARALLELISM": "1",
        "CORE_WORKER_POLL_INTERVAL_S": "0.1",
    }


def _events(lines: list[str]) -> list[tuple[str, dict[str, Any]]]:
    events, name = [], ""
    for line in lines:
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: "):
            events.append((name, json.loads(line.removeprefix("data: "))))
    return events


async def _conversation(client: httpx.AsyncClient) -> tuple[dict[str, str], str]:
    user = await signup(client)
    bot = await create_bot(client, user)
    created = await client.post(f"/api/v1/bots/{bot['id']}/conversations", headers=user.headers)
    assert created.status_code == 201, created.text
    return user.headers, created.json()["id"]


async def _wait_closed(port: int, timeout_s: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if port_is_closed(port):
            return True
        await asyncio.sleep(0.05)
    return False


async def test_sigterm_mid_stream_lets_the_answer_finish(
    core_database_url: str, core_db: AsyncEngine
) -> None:
    with (
        running_slow_agent(tokens=TOKENS, token_interval_s=TOKEN_INTERVAL_S) as agent,
        running_uvicorn(
            "core_service.main:create_app", _core_env(core_database_url, agent.url)
        ) as core,
    ):
        async with httpx.AsyncClient(base_url=core.base_url, timeout=30) as client:
            headers, conversation_id = await _conversation(client)
            lines: list[str] = []
            url = f"/api/v1/conversations/{conversation_id}/messages/stream"
            async with client.stream(
                "POST", url, json={"content": "hi"}, headers=headers
            ) as answer:
                assert answer.status_code == 200
                signalled_at = None
                async for line in answer.aiter_lines():
                    lines.append(line)
                    if signalled_at is None and line == "event: token":
                        core.terminate()
                        signalled_at = time.monotonic()
                        # New connections are refused while the stream goes on.
                        assert await _wait_closed(core.port)
            finished_at = time.monotonic()
        assert exited_after_sigterm(await asyncio.to_thread(core.wait, 25))
        output = core.output()
    events = _events(lines)
    assert [data["delta"] for name, data in events if name == "token"] == TOKENS
    name, done = events[-1]
    assert name == "done"
    assert done["message"]["content"] == "".join(TOKENS)
    assert signalled_at is not None
    assert finished_at - signalled_at >= (len(TOKENS) - 2) * TOKEN_INTERVAL_S
    # The lifespan shutdown ran after the stream: pools closed, nothing killed.
    log = log_events(output)
    assert first_event_index(log, path="/api/v1/conversations/") < first_event_index(
        log, event="core_stopped"
    )
    assert "Application shutdown complete." in output


async def _document_waiting_for_indexing(core_client: httpx.AsyncClient) -> tuple[str, str]:
    user = await signup(core_client)
    bot = await create_bot(core_client, user)
    created = await core_client.post(
        f"/api/v1/bots/{bot['id']}/documents/text",
        json={"name": "notes", "content": "Shutdown drains in-flight work before exiting."},
        headers=user.headers,
    )
    assert created.status_code == 202, created.text
    return bot["id"], created.json()["id"]


async def _document_state(engine: AsyncEngine, document_id: str) -> dict[str, Any]:
    """The document's status and its outbox job, if one is left."""
    async with engine.connect() as connection:
        row = (
            await connection.execute(
                text(
                    "SELECT d.status, j.state, j.locked_by, j.visible_after <= now() AS visible "
                    "FROM documents d LEFT JOIN jobs j ON j.document_id = d.id WHERE d.id = :id"
                ),
                {"id": document_id},
            )
        ).one()
    return dict(row._mapping)


async def _wait_ready(engine: AsyncEngine, document_id: str, timeout_s: float = 30) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if (await _document_state(engine, document_id))["status"] == "ready":
            return True
        await asyncio.sleep(0.1)
    return False


async def test_sigterm_during_a_job_keeps_the_job(
    core_client: httpx.AsyncClient, core_database_url: str, core_db: AsyncEngine
) -> None:
    _, document_id = await _document_waiting_for_indexing(core_client)
    with running_slow_agent(tokens=[], upsert_delay_s=1.0) as agent:
        env = _core_env(core_database_url, agent.url)
        with running_worker(env) as worker:
            assert await asyncio.to_thread(agent.upsert_started.wait, 30)
            worker.terminate()
            assert await asyncio.to_thread(worker.wait, 20) == 0, worker.output()
        # The job in hand was either finished or handed back for the next worker at once
        # (not left locked until its lease runs out).
        state = await _document_state(core_db, document_id)
        if state["status"] != "ready":
            assert state == {
                "status": "processing",
                "state": "pending",
                "locked_by": None,
                "visible": True,
            }
            with running_worker(env) as successor:
                assert await _wait_ready(core_db, document_id)
                successor.terminate()
                assert await asyncio.to_thread(successor.wait, 20) == 0
    assert (await _document_state(core_db, document_id))["state"] is None


async def test_an_idle_worker_serves_its_metrics_and_exits_promptly(
    core_database_url: str, core_db: AsyncEngine
) -> None:
    metrics_port = free_port()
    env = _core_env(core_database_url, "http://127.0.0.1:9")
    with running_worker(env | {"CORE_WORKER_METRICS_PORT": str(metrics_port)}) as worker:
        assert await asyncio.to_thread(worker.wait_for_output, '"worker_started"')
        # The container health check and Prometheus read this port.
        async with httpx.AsyncClient(timeout=5) as client:
            scraped = await client.get(f"http://127.0.0.1:{metrics_port}/healthz")
        assert scraped.status_code == 200
        assert "chatsphere_core_ingestion_jobs_total" in scraped.text
        signalled_at = time.monotonic()
        worker.terminate()
        assert await asyncio.to_thread(worker.wait, 10) == 0
        assert '"worker_stopped"' in worker.output()
    assert time.monotonic() - signalled_at < 3
    assert port_is_closed(metrics_port)
