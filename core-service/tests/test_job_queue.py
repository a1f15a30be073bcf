"""The queue's own rules: only the lease holder changes a job, and claims take turns by owner."""

import asyncio
import uuid

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from core_service.config import Settings
from core_service.jobs import service as jobs_service
from core_service.jobs.models import Job
from core_service.worker.runner import Worker, retry_delay_s
from testsupport.agent_inprocess import AgentHarness
from testsupport.core_content import create_bot, drain, make_worker, upload
from testsupport.core_users import SignedUpUser, signup
from testsupport.service_process import log_events


async def _job_row(engine: AsyncEngine, job_id: uuid.UUID) -> tuple[str, str | None, int, str]:
    async with engine.connect() as connection:
        row = (
            await connection.execute(
                text(
                    "SELECT jobs.state, jobs.locked_by, jobs.attempts, documents.status "
                    "FROM jobs JOIN documents ON documents.id = jobs.document_id "
                    "WHERE jobs.id = :id"
                ),
                {"id": job_id},
            )
        ).one()
    return row[0], row[1], row[2], row[3]


async def _lapse_leases(engine: AsyncEngine) -> None:
    """What the clock does to a slow worker: its lease ends and the job is claimable again."""
    async with engine.begin() as connection:
        await connection.execute(text("UPDATE jobs SET visible_after = now()"))


async def _taken_over(
    client: httpx.AsyncClient,
    app: FastAPI,
    settings: Settings,
    engine: AsyncEngine,
    **overrides: float,
) -> tuple[Worker, Job, Worker, Job]:
    """Worker A claims a document's job, its lease lapses, worker B claims the job."""
    user = await signup(client)
    bot = await create_bot(client, user)
    await upload(client, user, bot["id"], "a.txt", b"Tides follow the moon.")
    stale = make_worker(app, settings, worker_id="stale-a", **overrides)
    job = await stale.claim()
    assert job is not None
    await _lapse_leases(engine)
    holder = make_worker(app, settings, worker_id="holder-b")
    taken = await holder.claim()
    assert taken is not None
    assert taken.id == job.id
    return stale, job, holder, taken


async def test_a_stale_holders_transitions_change_nothing(
    content_client: httpx.AsyncClient,
    content_app: FastAPI,
    core_settings: Settings,
    core_db: AsyncEngine,
) -> None:
    _, job, _, _ = await _taken_over(content_client, content_app, core_settings, core_db)
    sessionmaker = content_app.state.sessionmaker
    async with sessionmaker() as session, session.begin():
        finished = await jobs_service.finish_job(session, job_id=job.id, worker_id="stale-a")
        failed = await jobs_service.fail_job(
            session, job_id=job.id, worker_id="stale-a", error="late"
        )
        retried = await jobs_service.retry_job_later(
            session, job_id=job.id, worker_id="stale-a", delay_s=0, error="late"
        )
        released = await jobs_service.release_job(session, job_id=job.id, worker_id="stale-a")
        renewed = await jobs_service.renew_lease(
            session, job_id=job.id, worker_id="stale-a", lease_s=60
        )

    assert (finished, failed, retried, released, renewed) == (False,) * 5
    assert await _job_row(core_db, job.id) == ("running", "holder-b", 2, "processing")


@pytest.mark.parametrize("max_attempts", [1, 5])
async def test_a_stale_worker_that_gives_up_or_retries_leaves_the_job_to_its_holder(
    content_client: httpx.AsyncClient,
    content_app: FastAPI,
    core_settings: Settings,
    core_db: AsyncEngine,
    agent: AgentHarness,
    max_attempts: int,
    capsys: pytest.CaptureFixture[str],
) -> None:
    stale, job, holder, taken = await _taken_over(
        content_client,
        content_app,
        core_settings,
        core_db,
        worker_max_attempts=max_attempts,
        worker_attempts_per_claim=1,
    )
    agent.transport.available = False
    capsys.readouterr()
    await stale.process(job)  # 1: gives up; 5: puts the job back for later
    logs = log_events(capsys.readouterr().out)
    after_stale = await _job_row(core_db, job.id)
    agent.transport.available = True
    await holder.process(taken)

    assert after_stale == ("running", "holder-b", 2, "processing")
    # The stale worker either finds its lease gone between the job's stages and stops, or
    # writes its outcome, which is ignored: never both, never neither.
    noticed = [
        e.get("transition", "lease")
        for e in logs
        if e["event"] in ("job_stale_write_ignored", "job_lease_lost")
    ]
    assert noticed in (["lease"], ["fail" if max_attempts == 1 else "retry"]), logs
    async with core_db.connect() as connection:
        status = await connection.scalar(
            text("SELECT status FROM documents WHERE id = :id"), {"id": job.document_id}
        )
        assert await connection.scalar(text("SELECT count(*) FROM jobs")) == 0
    assert status == "ready"


async def _documents(client: httpx.AsyncClient, user: SignedUpUser, count: int) -> list[str]:
    bot = await create_bot(client, user)
    ids = []
    for n in range(count):
        answer = await upload(client, user, bot["id"], f"{n}.txt", f"Note {n} on owls.".encode())
        assert answer.status_code == 202, answer.text
        ids.append(answer.json()["id"])
    return ids


async def test_a_second_owners_job_is_not_starved_by_a_first_owners_backlog(
    content_client: httpx.AsyncClient,
    content_app: FastAPI,
    core_settings: Settings,
    core_db: AsyncEngine,
    agent: AgentHarness,
) -> None:
    backlog = await _documents(content_client, await signup(content_client), 12)
    (latecomer,) = await _documents(content_client, await signup(content_client), 1)
    worker = make_worker(content_app, core_settings, worker_id="fair")

    served: list[str] = []
    for _ in range(3):  # one worker, each job finished before the next claim
        job = await worker.claim()
        assert job is not None
        served.append(str(job.document_id))
        await worker.process(job)
    await drain(worker)

    assert latecomer in served[:2]  # without turns it would come 13th
    assert set(served) <= {*backlog, latecomer}
    async with core_db.connect() as connection:
        assert await connection.scalar(text("SELECT count(*) FROM jobs")) == 0


async def test_concurrent_claims_across_owners_never_collide(
    content_client: httpx.AsyncClient,
    content_app: FastAPI,
    core_settings: Settings,
    core_db: AsyncEngine,
) -> None:
    for _ in range(3):
        await _documents(content_client, await signup(content_client), 4)
    workers = [make_worker(content_app, core_settings, worker_id=f"w{n}") for n in range(4)]

    claims = await asyncio.gather(*(worker.claim() for worker in workers for _ in range(3)))
    claimed_ids = [job.id for job in claims if job is not None]
    async with core_db.connect() as connection:
        per_owner = (
            (
                await connection.execute(
                    text("SELECT count(*) FROM jobs WHERE state = 'running' GROUP BY owner_id")
                )
            )
            .scalars()
            .all()
        )

    assert len(claimed_ids) == len(set(claimed_ids)) == 12
    assert sorted(per_owner) == [4, 4, 4]


def test_the_retry_delay_grows_with_attempts_up_to_the_cap() -> None:
    delays = [retry_delay_s(n, initial_s=1.0, max_s=30.0) for n in range(1, 8)]
    assert 1.0 <= delays[0] <= 2.0
    assert 4.0 <= delays[2] <= 5.0
    assert delays[-1] == 30.0
    assert retry_delay_s(10_000, initial_s=1.0, max_s=30.0) == 30.0
