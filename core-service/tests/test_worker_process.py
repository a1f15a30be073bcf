"""The worker as its own process: SIGTERM releases its job; a killed worker's job is taken over."""

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from core_service.config import Settings
from testsupport.agent_inprocess import AgentHarness, count_vectors
from testsupport.core_content import create_bot, drain, make_worker, upload
from testsupport.core_users import signup

StartWorker = Callable[..., subprocess.Popen[bytes]]


def _closed_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def start_worker(core_settings: Settings, tmp_path: Path) -> Iterator[StartWorker]:
    """Start ``python -m core_service.worker`` against an agent port nobody listens on."""
    started: list[subprocess.Popen[bytes]] = []

    def start(**settings: str) -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            "CORE_ENVIRONMENT": "test",
            "CORE_DATABASE_URL": str(core_settings.database_url),
            "CORE_AGENT_URL": f"http://127.0.0.1:{_closed_loopback_port()}",
            "CORE_WORKER_POLL_INTERVAL_S": "0.1",
            **settings,
        }
        log = (tmp_path / f"worker-{len(started)}.log").open("wb")
        process = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
            [sys.executable, "-m", "core_service.worker"], env=env, stdout=log, stderr=log
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


async def _job(engine: AsyncEngine) -> tuple[str, str | None, int]:
    async with engine.connect() as connection:
        row = (await connection.execute(text("SELECT state, locked_by, attempts FROM jobs"))).one()
    return row[0], row[1], row[2]


async def _wait_until_claimed(engine: AsyncEngine, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while (await _job(engine))[0] != "running":
        assert process.poll() is None, "the worker exited early"
        assert time.monotonic() < deadline, "the worker never claimed the job"
        await asyncio.sleep(0.1)


async def _one_document(client: httpx.AsyncClient) -> tuple[dict[str, str], str, str]:
    user = await signup(client)
    bot = await create_bot(client, user)
    document = (await upload(client, user, bot["id"], "a.txt", b"Aurora facts here.")).json()
    return user.headers, bot["id"], document["id"]


async def test_sigterm_releases_the_claimed_job_at_once(
    content_client: httpx.AsyncClient,
    content_app: FastAPI,
    core_settings: Settings,
    core_db: AsyncEngine,
    start_worker: StartWorker,
) -> None:
    headers, bot_id, document_id = await _one_document(content_client)
    process = start_worker(
        CORE_WORKER_RETRY_INITIAL_S="30", CORE_WORKER_RETRY_MAX_S="60", CORE_WORKER_LEASE_S="600"
    )
    await _wait_until_claimed(core_db, process)

    stopping = time.monotonic()
    process.send_signal(signal.SIGTERM)
    exit_code = await asyncio.to_thread(process.wait, 15)
    stopped_s = time.monotonic() - stopping
    released = await _job(core_db)
    await drain(make_worker(content_app, core_settings, worker_id="in-test"))
    document = await content_client.get(
        f"/api/v1/bots/{bot_id}/documents/{document_id}", headers=headers
    )

    assert exit_code == 0
    assert stopped_s < 10  # it was sleeping 30 s before its next try
    assert released == ("pending", None, 0)
    assert document.json()["status"] == "ready"


async def test_a_killed_workers_job_is_picked_up_by_another(
    content_client: httpx.AsyncClient,
    content_app: FastAPI,
    core_settings: Settings,
    core_db: AsyncEngine,
    agent: AgentHarness,
    start_worker: StartWorker,
) -> None:
    headers, bot_id, document_id = await _one_document(content_client)
    process = start_worker(CORE_WORKER_RETRY_INITIAL_S="30", CORE_WORKER_LEASE_S="1")
    await _wait_until_claimed(core_db, process)
    _, dead_worker, _ = await _job(core_db)

    process.kill()  # SIGKILL: no chance to release anything
    process.wait()
    survivor = make_worker(content_app, core_settings, worker_id="survivor")
    deadline = time.monotonic() + 15
    while await drain(survivor) == 0:
        assert time.monotonic() < deadline, "the job was never taken over"
        await asyncio.sleep(0.1)
    document = await content_client.get(
        f"/api/v1/bots/{bot_id}/documents/{document_id}", headers=headers
    )

    assert dead_worker is not None
    assert dead_worker != "survivor"
    assert document.json()["status"] == "ready"
    assert await count_vectors(agent.database_url, namespace=f"bot-{bot_id}") == (1, 1)
    async with core_db.connect() as connection:
        assert await connection.scalar(text("SELECT count(*) FROM jobs")) == 0


async def _wait_for_claim(
    engine: AsyncEngine, process: subprocess.Popen[bytes], *, attempts: int
) -> None:
    deadline = time.monotonic() + 30
    while (await _job(engine))[::2] != ("running", attempts):
        assert process.poll() is None, "the worker exited early"
        assert time.monotonic() < deadline, f"claim {attempts} never came: {await _job(engine)}"
        await asyncio.sleep(0.1)


async def test_a_job_whose_worker_dies_after_every_claim_ends_failed(
    content_client: httpx.AsyncClient,
    core_db: AsyncEngine,
    start_worker: StartWorker,
) -> None:
    headers, bot_id, document_id = await _one_document(content_client)
    settings = {
        "CORE_WORKER_MAX_ATTEMPTS": "2",
        "CORE_WORKER_LEASE_S": "1",
        "CORE_WORKER_RETRY_INITIAL_S": "30",  # each worker waits in its backoff until killed
    }
    for attempt in range(1, 3):
        process = start_worker(**settings)
        await _wait_for_claim(core_db, process, attempts=attempt)
        process.kill()  # SIGKILL right after the claim: nothing is written about the attempt
        process.wait()

    last = start_worker(**settings)
    deadline = time.monotonic() + 30
    while (await _job(core_db))[0] != "failed":
        assert time.monotonic() < deadline, f"the poison job is still going: {await _job(core_db)}"
        await asyncio.sleep(0.1)
    last.terminate()
    document = await content_client.get(
        f"/api/v1/bots/{bot_id}/documents/{document_id}", headers=headers
    )

    assert await _job(core_db) == ("failed", None, 3)
    assert await asyncio.to_thread(last.wait, 15) == 0
    assert document.json()["status"] == "error"
    assert "Gave up after 2 attempts" in document.json()["error"]
