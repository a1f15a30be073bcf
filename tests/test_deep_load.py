"""200 concurrent chat streams against real core and agent processes: zero errors, every stream
ends with ``done``, and the memory of both services stays bounded.

``DEEP_LOAD_SECONDS`` (default 60) sets how long the streams run after a short warm-up.
"""

import asyncio
import json
import os
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator

import httpx
import psutil
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from testsupport.core_content import create_bot, upload
from testsupport.core_users import SignedUpUser, signup
from testsupport.load import Tally, agent_load_environment, core_load_environment, load_databases
from testsupport.postgres import PostgresServer
from testsupport.service_process import log_events, running_uvicorn, running_worker

pytestmark = [pytest.mark.deep, pytest.mark.timeout(900)]

STREAMS = 200
STREAMS_PER_CONVERSATION = 10
WARM_UP_S = 8.0
LOAD_S = float(os.environ.get("DEEP_LOAD_SECONDS", "60"))
MIB = 1_048_576


@pytest.fixture
async def databases(postgres_server: PostgresServer) -> AsyncIterator[tuple[str, str]]:
    """A migrated core database and an agent database, dropped afterwards."""
    async with load_databases(postgres_server, "load") as urls:
        yield urls


async def _enterprise(core_url: str, user: SignedUpUser) -> None:
    engine = create_async_engine(core_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "UPDATE users SET subscription_plan_id = "
                    "(SELECT id FROM subscription_plans WHERE name = 'enterprise') WHERE id = :id"
                ),
                {"id": uuid.UUID(user.id)},
            )
    finally:
        await engine.dispose()


async def _one_stream(
    client: httpx.AsyncClient, url: str, user: SignedUpUser, tally: Tally
) -> None:
    events: list[str] = []
    status = 0
    try:
        async with client.stream(
            "POST", url, json={"content": "How do glaciers shape valleys?"}, headers=user.headers
        ) as answer:
            status = answer.status_code
            if answer.status_code != 200:
                tally.fail(f"status {answer.status_code}", (await answer.aread()).decode())
                return
            async for line in answer.aiter_lines():
                if line.startswith("event: "):
                    events.append(line.removeprefix("event: "))
                elif line.startswith("data: ") and events and events[-1] == "error":
                    tally.fail("error event", line)
    except httpx.HTTPError as error:
        tally.fail(type(error).__name__, f"{error!r} after {status}, {len(events)} events")
        return
    if events and events[-1] == "done":
        tally.done += 1
    elif "error" not in events:
        tally.fail("no done", ",".join(events))


async def _stream_loop(
    client: httpx.AsyncClient, url: str, user: SignedUpUser, tally: Tally, until: float
) -> None:
    while time.monotonic() < until:
        await _one_stream(client, url, user, tally)


async def _sample_rss(pids: dict[str, int], tally: Tally, stop: asyncio.Event) -> None:
    processes = {name: psutil.Process(pid) for name, pid in pids.items()}
    while not stop.is_set():
        for name, process in processes.items():
            tally.rss[name].append(process.memory_info().rss)
        await asyncio.sleep(0.5)


def _problems(log: str) -> list[str]:
    """The service's warning and error lines (at most ten), to say why a stream failed."""
    found = [
        json.dumps(event)[:600]
        for event in log_events(log)
        if event.get("level") in ("warning", "error", "critical")
    ]
    found += [line[:600] for line in log.splitlines() if "Traceback" in line]
    return found[:10]


async def _prepare(client: httpx.AsyncClient, core_url: str) -> tuple[SignedUpUser, list[str]]:
    user = await signup(client)
    await _enterprise(core_url, user)
    bot = await create_bot(client, user)
    notes = "\n\n".join(
        f"Note {n}: glaciers carve U-shaped valleys and leave moraines behind." for n in range(50)
    )
    assert (
        await upload(client, user, bot["id"], "glaciers.txt", notes.encode())
    ).status_code == 202
    urls = []
    for _ in range(STREAMS // STREAMS_PER_CONVERSATION):
        created = await client.post(
            f"/api/v1/bots/{bot['id']}/conversations", json={}, headers=user.headers
        )
        assert created.status_code == 201, created.text
        urls.append(f"/api/v1/conversations/{created.json()['id']}/messages/stream")
    return user, urls


async def _wait_indexed(client: httpx.AsyncClient, user: SignedUpUser) -> None:
    deadline = time.monotonic() + 60
    bots = (await client.get("/api/v1/bots", headers=user.headers)).json()["items"]
    url = f"/api/v1/bots/{bots[0]['id']}/documents"
    while (await client.get(url, headers=user.headers)).json()["items"][0]["status"] != "ready":
        assert time.monotonic() < deadline, "the document was never indexed"
        await asyncio.sleep(0.1)


async def test_200_concurrent_chat_streams_without_errors_in_bounded_memory(
    databases: tuple[str, str],
) -> None:
    core_url, agent_url = databases
    agent_env = agent_load_environment(agent_url)
    with running_uvicorn("agent_service.main:create_app", agent_env) as agent:
        core_env = core_load_environment(core_url, agent.base_url)
        with running_uvicorn("core_service.main:create_app", core_env) as core:
            # One connection per loop, dropped by the client before uvicorn's 5 s keep-alive
            # timeout could close it under a request being sent.
            limits = httpx.Limits(
                max_connections=STREAMS, max_keepalive_connections=STREAMS, keepalive_expiry=2
            )
            async with httpx.AsyncClient(
                base_url=core.base_url, timeout=60, limits=limits
            ) as client:
                user, urls = await _prepare(client, core_url)
                with running_worker(core_env):
                    await _wait_indexed(client, user)
                tally = Tally()
                stop = asyncio.Event()
                pids = {"core": core.process.pid, "agent": agent.process.pid}
                sampler = asyncio.create_task(_sample_rss(pids, tally, stop))
                started = time.monotonic()
                until = started + WARM_UP_S + LOAD_S
                loops = [
                    _stream_loop(client, urls[n // STREAMS_PER_CONVERSATION], user, tally, until)
                    for n in range(STREAMS)
                ]
                gathered = asyncio.gather(*loops)
                await asyncio.sleep(WARM_UP_S)
                warm = {name: samples[-1] for name, samples in tally.rss.items()}
                done_at_warm = tally.done
                await asyncio.wait_for(gathered, LOAD_S + 120)
                elapsed = time.monotonic() - started
                stop.set()
                await sampler
                health = await client.get("/readyz")
            core_problems = _problems(core.output())

    peak = {name: max(samples) for name, samples in tally.rss.items()}
    figures = {
        "streams": STREAMS,
        "seconds": round(elapsed, 1),
        "completed": tally.done,
        "per_second_after_warm_up": round((tally.done - done_at_warm) / (elapsed - WARM_UP_S), 1),
        "errors": dict(tally.errors),
        "rss_after_warm_up_mib": {k: round(v / MIB) for k, v in warm.items()},
        "rss_peak_mib": {k: round(v / MIB) for k, v in peak.items()},
    }
    print(f"\n{json.dumps(figures)}")  # noqa: T201 - the figures go into the report
    assert tally.errors == Counter(), (tally.examples, core_problems)
    assert tally.done >= STREAMS
    assert health.status_code == 200
    for name in ("core", "agent"):
        assert peak[name] < 2 * warm[name] + 200 * MIB, figures
