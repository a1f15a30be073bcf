"""Faults with real processes: the agent killed during ingestion and chat, the database restarted
under load, a worker killed holding jobs. Nothing is stuck, lost or duplicated afterwards, and
the services recover without a restart of their own."""

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from core_service.migrate import upgrade_to_head_async
from testsupport.agent_inprocess import count_vectors
from testsupport.core_content import create_bot, upload
from testsupport.core_users import SignedUpUser, signup
from testsupport.postgres import (
    PostgresServer,
    restart_embedded_postgres,
    start_embedded_postgres,
    stop_embedded_postgres,
)
from testsupport.service_process import ServiceProcess, running_uvicorn, running_worker
from testsupport.stub_agent import running_slow_agent
from testsupport.stub_openai import running_slow_chat_server

pytestmark = [pytest.mark.deep, pytest.mark.timeout(300)]

DOCUMENTS = 20
AGENT_FACTORY = "agent_service.main:create_app"
CORE_FACTORY = "core_service.main:create_app"
WORKER_SETTINGS = {
    "CORE_WORKER_POLL_INTERVAL_S": "0.1",
    "CORE_WORKER_RETRY_INITIAL_S": "0.1",
    "CORE_WORKER_RETRY_MAX_S": "0.5",
    "CORE_WORKER_MAX_ATTEMPTS": "200",
    "CORE_INGESTION_UPSERT_BATCH_SIZE": "10",
}


class Databases:
    """A migrated core database and an agent database on one server."""

    def __init__(self, core_url: str, agent_url: str) -> None:
        self.core_url = core_url
        self.agent_url = agent_url

    @property
    def core_asyncpg_url(self) -> str:
        return self.core_url.replace("postgresql+asyncpg://", "postgresql://")


async def _create_databases(server: PostgresServer) -> Databases:
    core = server.url_for(await server.create_database("core_deep"), driver="postgresql+asyncpg")
    await upgrade_to_head_async(core)
    return Databases(core, server.url_for(await server.create_database("agent_deep")))


@pytest.fixture
async def databases(postgres_server: PostgresServer) -> AsyncIterator[Databases]:
    """Fresh databases on the session's server, dropped afterwards."""
    created = await _create_databases(postgres_server)
    yield created
    for url in (created.core_url, created.agent_url):
        await postgres_server.drop_database(url.rsplit("/", 1)[1])


def _agent_env(databases: Databases, **extra: str) -> dict[str, str]:
    return {"AGENT_ENVIRONMENT": "test", "AGENT_DATABASE_URL": databases.agent_url, **extra}


def _core_env(databases: Databases, agent_url: str, **extra: str) -> dict[str, str]:
    return {
        "CORE_ENVIRONMENT": "test",
        "CORE_DATABASE_URL": databases.core_url,
        "CORE_AGENT_URL": agent_url,
        "CORE_AGENT_CONNECT_TIMEOUT_S": "1",
        "CORE_ARGON2_MEMORY_KIB": "1024",
        "CORE_ARGON2_TIME_COST": "1",
        "CORE_ARGON2_PARALLELISM": "1",
        "CORE_RATE_LIMIT_REGISTER_PER_ADDRESS": "10000",
        **WORKER_SETTINGS,
        **extra,
    }


@contextmanager
def _uvicorn_on_port(factory: str, env: dict[str, str], port: int, log: Path) -> Iterator[None]:
    """The same uvicorn command as ``running_uvicorn``, on a port we choose (a restart)."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("CORE_", "AGENT_"))}
    command = [sys.executable, "-m", "uvicorn", factory, "--factory", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--loop", "uvloop", "--http", "httptools"]
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 - our own service, fixed arguments
            command, env=inherited | env, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):  # noqa: S310
                    break
            except OSError:
                time.sleep(0.1)
        yield
    finally:
        process.kill()
        process.wait()


def _kill(service: ServiceProcess) -> None:
    service.process.kill()  # SIGKILL: no shutdown code runs
    service.process.wait()


async def _core_rows(databases: Databases, query: str) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(databases.core_asyncpg_url)
    try:
        return list(await connection.fetch(query))
    finally:
        await connection.close()


async def _documents(client: httpx.AsyncClient, user: SignedUpUser, bot_id: str) -> list[Any]:
    page = await client.get(f"/api/v1/bots/{bot_id}/documents?limit=100", headers=user.headers)
    assert page.status_code == 200, page.text
    items: list[Any] = page.json()["items"]
    return items


async def _upload_documents(client: httpx.AsyncClient, user: SignedUpUser, bot_id: str) -> None:
    for n in range(DOCUMENTS):
        body = "\n\n".join(
            f"Document {n}, note {k}: glaciers carve valleys over long ages." for k in range(300)
        )
        answer = await upload(client, user, bot_id, f"{n}.txt", body.encode())
        assert answer.status_code == 202, answer.text


async def _wait_ready_count(
    client: httpx.AsyncClient, user: SignedUpUser, bot_id: str, at_least: int, timeout_s: float
) -> list[Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        documents = await _documents(client, user, bot_id)
        if sum(d["status"] == "ready" for d in documents) >= at_least:
            return documents
        assert time.monotonic() < deadline, Counter(d["status"] for d in documents)
        await asyncio.sleep(0.05)


async def _assert_all_indexed_once(
    client: httpx.AsyncClient, user: SignedUpUser, bot_id: str, databases: Databases
) -> int:
    documents = await _wait_ready_count(client, user, bot_id, DOCUMENTS, timeout_s=120)
    chunks = sum(int(d["chunk_count"]) for d in documents)
    assert [d["status"] for d in documents] == ["ready"] * DOCUMENTS
    assert await _core_rows(databases, "SELECT id FROM jobs") == []
    assert await count_vectors(databases.agent_url, namespace=f"bot-{bot_id}") == (chunks, chunks)
    return chunks


async def test_agent_killed_during_ingestion_loses_and_duplicates_nothing(
    databases: Databases, tmp_path: Path
) -> None:
    with running_uvicorn(AGENT_FACTORY, _agent_env(databases)) as agent:
        env = _core_env(databases, agent.base_url)
        with running_uvicorn(CORE_FACTORY, env) as core:
            async with httpx.AsyncClient(base_url=core.base_url, timeout=30) as client:
                user = await signup(client)
                bot = await create_bot(client, user, chunk_size=200, chunk_overlap=20)
                await _upload_documents(client, user, bot["id"])
                with running_worker(env) as worker:
                    await _wait_ready_count(client, user, bot["id"], 1, timeout_s=60)
                    _kill(agent)
                    at_kill = Counter(
                        d["status"] for d in await _documents(client, user, bot["id"])
                    )
                    await asyncio.sleep(2)  # the worker's upserts are refused meanwhile
                    log = tmp_path / "agent-restarted.log"
                    with _uvicorn_on_port(AGENT_FACTORY, _agent_env(databases), agent.port, log):
                        started = time.monotonic()
                        chunks = await _assert_all_indexed_once(client, user, bot["id"], databases)
                        recovered_s = time.monotonic() - started
                    assert worker.process.poll() is None, worker.output()

    print(  # noqa: T201 - the figures go into the report
        f"\nagent killed at {dict(at_kill)}; {DOCUMENTS} documents, {chunks} chunks all ready "
        f"{recovered_s:.1f} s after the restart"
    )
    assert at_kill["ready"] < DOCUMENTS  # the kill landed mid-ingestion
    assert at_kill["processing"] > 0


async def _read_stream(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> list[str]:
    events: list[str] = []
    async with client.stream("POST", url, json={"content": "glaciers?"}, headers=headers) as answer:
        assert answer.status_code == 200
        async for line in answer.aiter_lines():
            if line.startswith("event: "):
                events.append(line.removeprefix("event: "))
            elif line.startswith("data: ") and events[-1] == "error":
                events.append(json.loads(line.removeprefix("data: "))["error"])
    return events


async def _index_passage(agent_url: str, bot_id: str, text: str) -> None:
    chunk = {"id": "passage-1", "document_id": str(uuid.uuid4()), "text": text}
    async with httpx.AsyncClient(base_url=agent_url, timeout=30) as agent:
        indexed = await agent.post(
            "/v1/index/upsert",
            json={"namespace": f"bot-{bot_id}", "chunks": [chunk]},
            headers={"Authorization": "Bearer development-only-agent-key"},
        )
    assert indexed.status_code == 200, indexed.text


async def test_agent_killed_during_a_chat_answers_503_and_keeps_the_message(
    databases: Databases, tmp_path: Path
) -> None:
    with running_slow_chat_server(tokens=["slow "] * 100, token_interval_s=0.1) as llm:
        agent_env = _agent_env(
            databases,
            AGENT_CHAT_PROVIDER="openai",
            AGENT_OPENAI_BASE_URL=llm.base_url,
            AGENT_OPENAI_CHAT_MODEL="slow-model",
        )
        with running_uvicorn(AGENT_FACTORY, agent_env) as agent:
            with running_uvicorn(CORE_FACTORY, _core_env(databases, agent.base_url)) as core:
                async with httpx.AsyncClient(base_url=core.base_url, timeout=30) as client:
                    user = await signup(client)
                    bot = await create_bot(client, user)
                    # A passage to answer from: with nothing relevant, the model is not asked.
                    await _index_passage(agent.base_url, bot["id"], "Glaciers carve valleys.")
                    conversation = await client.post(
                        f"/api/v1/bots/{bot['id']}/conversations", json={}, headers=user.headers
                    )
                    base = f"/api/v1/conversations/{conversation.json()['id']}/messages"
                    streaming = asyncio.create_task(
                        _read_stream(client, f"{base}/stream", user.headers)
                    )
                    await asyncio.to_thread(llm.streaming.wait, 30)
                    await asyncio.sleep(0.3)  # a few tokens are through
                    _kill(agent)
                    stream_events = await asyncio.wait_for(streaming, 30)
                    down = await client.post(
                        base, json={"content": "still there?"}, headers=user.headers
                    )
                    kept = await client.get(base, headers=user.headers)
                    log = tmp_path / "agent-restarted.log"
                    with _uvicorn_on_port(AGENT_FACTORY, agent_env, agent.port, log):
                        llm.tokens[:] = ["back"]
                        streamed_after = await _read_stream(client, f"{base}/stream", user.headers)

    assert "token" in stream_events
    assert stream_events[-2:] == ["error", "AgentUnavailable"], stream_events
    assert "done" not in stream_events
    assert down.status_code == 503, down.text
    assert down.json()["error"] == "AgentUnavailable"
    user_messages = [m["content"] for m in kept.json()["items"] if m["role"] == "user"]
    assert user_messages == ["glaciers?", "still there?"]
    assert streamed_after[-1] == "done", streamed_after


async def _poll(
    client: httpx.AsyncClient,
    user: SignedUpUser,
    seen: list[tuple[float, int]],
    stop: asyncio.Event,
) -> None:
    while not stop.is_set():
        sent_at = time.monotonic()
        try:
            answer = await client.get("/api/v1/bots", headers=user.headers)
            seen.append((sent_at, answer.status_code))
        except httpx.HTTPError:
            seen.append((sent_at, -1))
        await asyncio.sleep(0.02)


def _stop_if_running(server: object) -> None:
    # A test that failed while the server was stopped must not hide its error behind this one.
    with contextlib.suppress(subprocess.CalledProcessError):
        stop_embedded_postgres(server)


def _lines_of_failed_requests(log: str) -> list[str]:
    """Every log line of the requests that answered 500, to say why in the failure."""
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    failed = {line.get("request_id") for line in lines if line.get("status") == 500}
    return [json.dumps(line) for line in lines if line.get("request_id") in failed]


async def _ready(client: httpx.AsyncClient, timeout_s: float) -> float:
    started = time.monotonic()
    while (await client.get("/readyz")).status_code != 200:
        assert time.monotonic() - started < timeout_s, "readiness never came back"
        await asyncio.sleep(0.1)
    return time.monotonic()


async def test_database_restart_under_load_gives_503_then_recovers(tmp_path: Path) -> None:
    server = await asyncio.to_thread(start_embedded_postgres, tmp_path / "pg")
    try:
        postgres = PostgresServer(admin_url=server.get_uri("postgres"))  # type: ignore[attr-defined]
        databases = await _create_databases(postgres)
        with running_uvicorn(AGENT_FACTORY, _agent_env(databases)) as agent:
            with running_uvicorn(CORE_FACTORY, _core_env(databases, agent.base_url)) as core:
                async with (
                    httpx.AsyncClient(base_url=core.base_url, timeout=30) as client,
                    httpx.AsyncClient(base_url=agent.base_url, timeout=30) as agent_client,
                ):
                    user = await signup(client)
                    bot = await create_bot(client, user)
                    seen: list[tuple[float, int]] = []
                    stop = asyncio.Event()
                    loops = [asyncio.create_task(_poll(client, user, seen, stop)) for _ in range(4)]
                    await asyncio.sleep(1)
                    await asyncio.to_thread(stop_embedded_postgres, server)
                    stopped_at = time.monotonic()
                    await asyncio.sleep(2)
                    restarting_at = time.monotonic()
                    await asyncio.to_thread(restart_embedded_postgres, server)
                    restarted_at = time.monotonic()
                    core_ready_at = await _ready(client, 30)
                    agent_ready_at = await _ready(agent_client, 30)
                    await asyncio.sleep(2)
                    stop.set()
                    await asyncio.gather(*loops)
                    document = await upload(client, user, bot["id"], "a.txt", b"Fresh facts.")
                    conversation = await client.post(
                        f"/api/v1/bots/{bot['id']}/conversations", json={}, headers=user.headers
                    )
                    chat = await client.post(
                        f"/api/v1/conversations/{conversation.json()['id']}/messages",
                        json={"content": "facts?"},
                        headers=user.headers,
                    )
                core_log = core.output()
    finally:
        await asyncio.to_thread(_stop_if_running, server)

    statuses = Counter(status for _, status in seen)
    during = Counter(s for t, s in seen if stopped_at < t < restarting_at)
    last = [s for t, s in seen if t > max(core_ready_at, agent_ready_at) + 1]
    print(  # noqa: T201 - the figures go into the report
        f"\ndatabase restart under load: {dict(statuses)} in all, {dict(during)} while down; "
        f"core ready {core_ready_at - restarted_at:.2f} s after the restart"
    )
    (tmp_path / "core.log").write_text(core_log)
    failures = _lines_of_failed_requests(core_log)
    assert set(statuses) <= {200, 503}, failures[:20]  # never a 500, never a dropped connection
    assert during[503] > 0
    assert during[200] == 0
    assert last
    assert set(last) == {200}
    assert document.status_code == 202, document.text
    assert chat.status_code == 200, chat.text


async def test_a_killed_workers_jobs_are_finished_by_another_after_the_lease(
    databases: Databases,
) -> None:
    with running_uvicorn(AGENT_FACTORY, _agent_env(databases)) as agent:
        env = _core_env(databases, agent.base_url, CORE_WORKER_LEASE_S="2")
        with running_uvicorn(CORE_FACTORY, env) as core:
            async with httpx.AsyncClient(base_url=core.base_url, timeout=30) as client:
                user = await signup(client)
                bot = await create_bot(client, user, chunk_size=200, chunk_overlap=20)
                await _upload_documents(client, user, bot["id"])
                with running_worker(env) as doomed:
                    await _wait_ready_count(client, user, bot["id"], 1, timeout_s=60)
                    _kill(doomed)
                    killed_at = time.monotonic()
                    held_query = "SELECT locked_by FROM jobs WHERE state = 'running'"
                    held = await _core_rows(databases, held_query)
                with running_worker(env) as survivor:
                    chunks = await _assert_all_indexed_once(client, user, bot["id"], databases)
                    finished_s = time.monotonic() - killed_at
                    assert survivor.process.poll() is None, survivor.output()

    print(  # noqa: T201 - the figures go into the report
        f"\nworker killed holding {len(held)} jobs; {DOCUMENTS} documents ({chunks} chunks) "
        f"ready {finished_s:.1f} s later"
    )
    assert held  # it died holding jobs
    assert all(row["locked_by"] for row in held)


async def test_a_stream_whose_answer_cannot_be_stored_ends_with_an_error_event(
    tmp_path: Path,
) -> None:
    server = await asyncio.to_thread(start_embedded_postgres, tmp_path / "pg")
    try:
        postgres = PostgresServer(admin_url=server.get_uri("postgres"))  # type: ignore[attr-defined]
        databases = await _create_databases(postgres)
        with running_slow_agent(tokens=["slow "] * 30, token_interval_s=0.1) as agent:
            with running_uvicorn(CORE_FACTORY, _core_env(databases, agent.url)) as core:
                async with httpx.AsyncClient(base_url=core.base_url, timeout=30) as client:
                    user = await signup(client)
                    bot = await create_bot(client, user)
                    conversation = await client.post(
                        f"/api/v1/bots/{bot['id']}/conversations", json={}, headers=user.headers
                    )
                    url = f"/api/v1/conversations/{conversation.json()['id']}/messages/stream"
                    streaming = asyncio.create_task(_read_stream(client, url, user.headers))
                    await asyncio.to_thread(agent.stream_started.wait, 30)
                    await asyncio.to_thread(stop_embedded_postgres, server)
                    events = await asyncio.wait_for(streaming, 60)
                    await asyncio.to_thread(restart_embedded_postgres, server)
                    await _ready(client, 30)
                    kept = await client.get(url.removesuffix("/stream"), headers=user.headers)
    finally:
        await asyncio.to_thread(_stop_if_running, server)

    assert events.count("token") == 30
    assert events[-2:] == ["error", "DatabaseUnavailable"], events
    assert [m["role"] for m in kept.json()["items"]] == ["user"]
