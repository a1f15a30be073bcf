"""Worker details: leases, supersession by a re-index, and claims that never collide."""

import asyncio

import httpx
from fastapi import FastAPI
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from core_service.config import Settings
from core_service.worker.runner import Worker
from testsupport.agent_inprocess import AgentHarness, count_vectors
from testsupport.core_content import create_bot, drain, make_worker, upload
from testsupport.core_users import signup


async def test_a_reindex_supersedes_a_running_job(
    content_client: httpx.AsyncClient,
    content_app: FastAPI,
    core_settings: Settings,
    core_db: AsyncEngine,
    agent: AgentHarness,
) -> None:
    user = await signup(content_client)
    bot = await create_bot(content_client, user)
    base = f"/api/v1/bots/{bot['id']}/documents"
    document = (
        await upload(content_client, user, bot["id"], "a.txt", b"Comets have tails.")
    ).json()
    slow = make_worker(content_app, core_settings, worker_id="slow")
    claimed = await slow.claim()
    assert claimed is not None

    reindexed = await content_client.post(f"{base}/{document['id']}/reindex", headers=user.headers)
    await slow.process(claimed)  # its job row is gone: it stops without touching the document
    after_slow = (await content_client.get(f"{base}/{document['id']}", headers=user.headers)).json()
    await drain(make_worker(content_app, core_settings, worker_id="fresh"))
    after_fresh = (
        await content_client.get(f"{base}/{document['id']}", headers=user.headers)
    ).json()

    assert reindexed.status_code == 202
    assert after_slow["status"] == "processing"
    assert after_fresh["status"] == "ready"
    assert await count_vectors(agent.database_url, namespace=f"bot-{bot['id']}") == (1, 1)


async def test_concurrent_workers_never_take_the_same_job(
    content_client: httpx.AsyncClient,
    content_app: FastAPI,
    core_settings: Settings,
    core_db: AsyncEngine,
    agent: AgentHarness,
) -> None:
    user = await signup(content_client)
    bot = await create_bot(content_client, user)
    for n in range(12):
        await upload(content_client, user, bot["id"], f"{n}.txt", f"Star number {n}.".encode())
    workers = [make_worker(content_app, core_settings, worker_id=f"w{n}") for n in range(4)]

    claims = await asyncio.gather(*(worker.claim() for worker in workers for _ in range(3)))
    claimed_ids = [job.id for job in claims if job is not None]
    for worker in workers:
        await drain(worker)
    async with core_db.connect() as connection:
        left = await connection.scalar(text("SELECT count(*) FROM jobs WHERE state = 'pending'"))

    assert len(claimed_ids) == len(set(claimed_ids)) == 12
    assert left == 0  # the claimed ones wait for their lease to end; none was handed out twice


async def test_a_worker_keeps_polling_while_the_database_is_unreachable(
    content_app: FastAPI, core_settings: Settings
) -> None:
    engine = create_async_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    worker = Worker(
        sessionmaker=async_sessionmaker(engine),
        agent=content_app.state.agent_client,
        settings=core_settings.model_copy(update={"worker_poll_interval_s": 0.05}),
        worker_id="no-db",
    )

    running = asyncio.create_task(worker.run())
    await asyncio.sleep(0.3)
    alive = not running.done()
    worker.stop.set()
    await asyncio.wait_for(running, 5)
    await engine.dispose()

    assert alive


async def test_a_stop_asked_after_the_last_batch_lets_the_job_finish(
    content_client: httpx.AsyncClient,
    content_app: FastAPI,
    core_settings: Settings,
    core_db: AsyncEngine,
    agent: AgentHarness,
) -> None:
    user = await signup(content_client)
    bot = await create_bot(content_client, user)
    document = (await upload(content_client, user, bot["id"], "a.txt", b"One batch.")).json()
    worker = make_worker(content_app, core_settings, worker_id="stopping")
    job = await worker.claim()
    assert job is not None
    worker.stop.set()
    await worker.process(job)
    path = f"/api/v1/bots/{bot['id']}/documents/{document['id']}"
    assert (await content_client.get(path, headers=user.headers)).json()["status"] == "ready"


async def test_a_one_batch_document_is_indexed_in_three_transactions_without_a_read_back(
    content_client: httpx.AsyncClient,
    content_app: FastAPI,
    core_settings: Settings,
    agent: AgentHarness,
) -> None:
    user = await signup(content_client)
    bot = await create_bot(content_client, user)
    await upload(content_client, user, bot["id"], "a.txt", b"Comets have tails. " * 40)
    worker = make_worker(content_app, core_settings, worker_id="counted")
    job = await worker.claim()
    assert job is not None
    engine: AsyncEngine = content_app.state.sessionmaker.kw["bind"]
    statements: list[str] = []
    commits: list[None] = []

    def executed(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(" ".join(statement.split()))

    def committed(_conn: object) -> None:
        commits.append(None)

    event.listen(engine.sync_engine, "before_cursor_execute", executed)
    event.listen(engine.sync_engine, "commit", committed)
    try:
        await worker.process(job)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", executed)
        event.remove(engine.sync_engine, "commit", committed)

    # Open the document, write its passages, mark it ready: the passages just written are sent
    # as they are, and a short text's ``chunking`` stage gets no transaction of its own.
    assert len(commits) == 3
    assert not [s for s in statements if s.startswith("SELECT") and "FROM chunks" in s]
    assert await count_vectors(agent.database_url, namespace=f"bot-{bot['id']}") == (1, 1)


async def test_a_job_waits_for_an_extraction_slot_before_reading_its_document(
    content_client: httpx.AsyncClient,
    content_app: FastAPI,
    core_settings: Settings,
    core_db: AsyncEngine,
    agent: AgentHarness,
) -> None:
    user = await signup(content_client)
    bot = await create_bot(content_client, user)
    document = (await upload(content_client, user, bot["id"], "a.txt", b"Moths fly.")).json()
    path = f"/api/v1/bots/{bot['id']}/documents/{document['id']}"
    slots = asyncio.Semaphore(1)
    worker = Worker(
        sessionmaker=content_app.state.sessionmaker,
        agent=content_app.state.agent_client.with_retry_attempts(1),
        settings=core_settings,
        worker_id="second",
        extraction_slots=slots,
    )

    async with slots:  # the process's one slot: another of its jobs is extracting
        job = await worker.claim()
        assert job is not None
        processing = asyncio.create_task(worker.process(job))
        await asyncio.sleep(0.5)
        while_held = (await content_client.get(path, headers=user.headers)).json()
    await asyncio.wait_for(processing, 30)
    after = (await content_client.get(path, headers=user.headers)).json()

    assert (while_held["status"], while_held["stage"]) == ("processing", "queued")
    assert after["status"] == "ready"
