"""Failed and stuck jobs are visible: staff list and re-queue them; /metrics counts them."""

import asyncio
import time
import uuid

import httpx
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from core_service.config import Settings
from testsupport.agent_inprocess import AgentHarness
from testsupport.core_content import create_bot, drain, make_worker, upload
from testsupport.core_users import SignedUpUser, signup
from testsupport.service_process import free_port, running_uvicorn, running_worker

JOBS = "/api/v1/admin/jobs"


async def _failed_document(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings, agent: AgentHarness
) -> tuple[SignedUpUser, str, str]:
    """A document whose indexing job was given up on (the agent was down for its only try)."""
    user = await signup(client)
    bot = await create_bot(client, user)
    document = (await upload(client, user, bot["id"], "a.txt", b"Glaciers carve valleys.")).json()
    agent.transport.available = False
    worker = make_worker(
        app, settings, worker_id="w", worker_max_attempts=1, worker_attempts_per_claim=1
    )
    assert await drain(worker) == 1
    agent.transport.available = True
    return user, bot["id"], document["id"]


def _job_gauges(exposition: str) -> dict[str, float]:
    values: dict[str, float] = {}
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.name == "chatsphere_core_jobs":
                values[sample.labels["state"]] = sample.value
            elif sample.name == "chatsphere_core_jobs_oldest_pending_age_seconds":
                values["oldest_pending_age"] = sample.value
    return values


async def test_staff_list_failed_jobs_and_requeue_one(
    content_client: httpx.AsyncClient,
    content_app: FastAPI,
    core_settings: Settings,
    core_db: AsyncEngine,
    agent: AgentHarness,
) -> None:
    staff = await signup(content_client, engine=core_db, staff=True)
    user, bot_id, document_id = await _failed_document(
        content_client, content_app, core_settings, agent
    )
    await upload(content_client, user, bot_id, "b.txt", b"Still waiting.")

    failed = await content_client.get(f"{JOBS}?state=failed", headers=staff.headers)
    every = await content_client.get(f"{JOBS}?limit=1", headers=staff.headers)
    (job,) = failed.json()["items"]
    retried = await content_client.post(f"{JOBS}/{job['id']}/retry", headers=staff.headers)
    document_after_retry = await content_client.get(
        f"/api/v1/bots/{bot_id}/documents/{document_id}", headers=user.headers
    )
    again = await content_client.post(f"{JOBS}/{job['id']}/retry", headers=staff.headers)
    await drain(make_worker(content_app, core_settings, worker_id="after"))
    document = await content_client.get(
        f"/api/v1/bots/{bot_id}/documents/{document_id}", headers=user.headers
    )

    assert failed.status_code == 200
    assert failed.json()["total"] == 1
    assert job["kind"] == "index_document"
    assert job["state"] == "failed"
    assert job["attempts"] == 1
    assert job["document_id"] == document_id
    assert job["owner_id"] == user.id
    assert "agent service was unavailable" in job["last_error"]
    assert {"created_at", "updated_at", "bot_id"} <= job.keys()
    assert "payload" not in job
    assert (every.json()["total"], len(every.json()["items"])) == (2, 1)
    assert retried.status_code == 202
    assert (retried.json()["state"], retried.json()["attempts"]) == ("pending", 0)
    assert document_after_retry.json()["status"] == "processing"
    assert again.status_code == 409
    assert again.json()["error"] == "JobNotFailed"
    assert document.json()["status"] == "ready"


async def test_job_endpoints_are_staff_only_and_check_their_input(
    core_client: httpx.AsyncClient, core_db: AsyncEngine
) -> None:
    staff = await signup(core_client, engine=core_db, staff=True)
    user = await signup(core_client)
    unknown = f"{JOBS}/{uuid.uuid4()}/retry"

    assert (await core_client.get(JOBS, headers=user.headers)).status_code == 403
    assert (await core_client.post(unknown, headers=user.headers)).status_code == 403
    assert (await core_client.get(JOBS)).status_code == 401
    missing = await core_client.post(unknown, headers=staff.headers)
    assert (missing.status_code, missing.json()["error"]) == (404, "JobNotFound")
    bad_state = await core_client.get(f"{JOBS}?state=lost", headers=staff.headers)
    assert bad_state.status_code == 422
    bad_id = await core_client.post(f"{JOBS}/not-a-uuid/retry", headers=staff.headers)
    assert bad_id.status_code == 422
    assert (await core_client.get(f"{JOBS}?limit=1000", headers=staff.headers)).status_code == 422


async def test_metrics_count_jobs_by_state_and_the_oldest_pending_age(
    content_client: httpx.AsyncClient,
    content_app: FastAPI,
    core_settings: Settings,
    core_db: AsyncEngine,
    agent: AgentHarness,
) -> None:
    user, bot_id, _ = await _failed_document(content_client, content_app, core_settings, agent)
    for name in ("b.txt", "c.txt", "d.txt"):
        await upload(content_client, user, bot_id, name, f"Queued behind {name}.".encode())
    async with core_db.begin() as connection:
        await connection.execute(
            text(
                "UPDATE jobs SET created_at = now() - interval '90 seconds' WHERE state = 'pending'"
            )
        )
    running = await make_worker(content_app, core_settings, worker_id="holder").claim()
    assert running is not None

    gauges = _job_gauges((await content_client.get("/metrics")).text)

    assert (gauges["pending"], gauges["running"], gauges["failed"]) == (2, 1, 1)
    assert 90 <= gauges["oldest_pending_age"] < 150


def _process_env(database_url: str) -> dict[str, str]:
    return {
        "CORE_ENVIRONMENT": "test",
        "CORE_DATABASE_URL": database_url,
        "CORE_AGENT_URL": f"http://127.0.0.1:{free_port()}",  # nobody listens: the agent is down
        "CORE_ARGON2_MEMORY_KIB": "1024",
        "CORE_ARGON2_TIME_COST": "1",
        "CORE_ARGON2_PARALLELISM": "1",
        "CORE_WORKER_POLL_INTERVAL_S": "0.1",
        "CORE_WORKER_MAX_ATTEMPTS": "1",
        "CORE_WORKER_ATTEMPTS_PER_CLAIM": "1",
    }


async def _wait_for_failed_jobs(client: httpx.AsyncClient, staff: SignedUpUser) -> httpx.Response:
    deadline = time.monotonic() + 30
    while True:
        listed = await client.get(f"{JOBS}?state=failed", headers=staff.headers)
        if listed.json()["total"] or time.monotonic() > deadline:
            return listed
        await asyncio.sleep(0.1)


async def test_a_failed_job_is_seen_and_requeued_through_a_real_server(
    core_database_url: str, core_db: AsyncEngine
) -> None:
    env = _process_env(core_database_url)
    with running_uvicorn("core_service.main:create_app", env) as core:
        async with httpx.AsyncClient(base_url=core.base_url, timeout=30) as client:
            staff = await signup(client, engine=core_db, staff=True)
            user = await signup(client)
            bot = await create_bot(client, user)
            await upload(client, user, bot["id"], "a.txt", b"Deltas form at river mouths.")
            with running_worker(env) as worker:
                failed = await _wait_for_failed_jobs(client, staff)
                worker.terminate()
                assert await asyncio.to_thread(worker.wait, 20) == 0
            before = _job_gauges((await client.get("/metrics")).text)
            job_id = failed.json()["items"][0]["id"]
            retried = await client.post(f"{JOBS}/{job_id}/retry", headers=staff.headers)
            after = _job_gauges((await client.get("/metrics")).text)

    assert failed.json()["total"] == 1
    assert (before["failed"], before["pending"]) == (1, 0)
    assert retried.status_code == 202
    assert (after["failed"], after["pending"]) == (0, 1)
