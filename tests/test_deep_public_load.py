"""200 concurrent anonymous end users chatting through publishable keys, as widgets on four shop
sites would, against real core and agent processes: zero errors for the whole run.

Each end user starts a session from an allowed origin, opens a conversation and streams one
message after another. ``DEEP_LOAD_SECONDS`` (default 60) sets how long they chat after a short
warm-up; the figures (requests, turns, p50/p99 of a whole streamed turn) are printed.
"""

import asyncio
import json
import os
import statistics
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from testsupport.core_content import create_bot, upload
from testsupport.core_public import new_key
from testsupport.core_users import SignedUpUser, signup
from testsupport.load import Tally, agent_load_environment, core_load_environment, load_databases
from testsupport.postgres import PostgresServer
from testsupport.service_process import log_events, running_uvicorn, running_worker

pytestmark = [pytest.mark.deep, pytest.mark.timeout(900)]

END_USERS = 200
SITES = [f"http://127.0.0.1:{9100 + n}" for n in range(4)]
WARM_UP_S = 8.0
LOAD_S = float(os.environ.get("DEEP_LOAD_SECONDS", "60"))


@dataclass(frozen=True)
class Site:
    """A shop site: its origin and its bot's publishable key."""

    origin: str
    key: str


@pytest.fixture
async def databases(postgres_server: PostgresServer) -> AsyncIterator[tuple[str, str]]:
    """A migrated core database and an agent database, dropped afterwards."""
    async with load_databases(postgres_server, "public_load") as urls:
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


async def _prepare(client: httpx.AsyncClient, core_url: str) -> tuple[SignedUpUser, list[Site]]:
    owner = await signup(client)
    await _enterprise(core_url, owner)
    bot = await create_bot(client, owner)
    notes = "\n\n".join(
        f"Note {n}: glaciers carve U-shaped valleys and leave moraines behind." for n in range(50)
    )
    uploaded = await upload(client, owner, bot["id"], "glaciers.txt", notes.encode())
    assert uploaded.status_code == 202, uploaded.text
    sites = []
    for origin in SITES:
        key = await new_key(
            client,
            owner,
            bot["id"],
            kind="publishable",
            allowed_origins=[origin],
            rate_limit_per_minute=100_000,
        )
        sites.append(Site(origin=origin, key=key["key"]))
    return owner, sites


async def _wait_indexed(client: httpx.AsyncClient, owner: SignedUpUser) -> None:
    deadline = time.monotonic() + 60
    bots = (await client.get("/api/v1/bots", headers=owner.headers)).json()["items"]
    url = f"/api/v1/bots/{bots[0]['id']}/documents"
    while (await client.get(url, headers=owner.headers)).json()["items"][0]["status"] != "ready":
        assert time.monotonic() < deadline, "the document was never indexed"
        await asyncio.sleep(0.1)


async def _call(
    client: httpx.AsyncClient, tally: Tally, url: str, headers: dict[str, str], body: object
) -> dict[str, object] | None:
    tally.requests += 1
    started = time.monotonic()
    try:
        answer = await client.post(url, json=body, headers=headers)
    except httpx.HTTPError as error:
        tally.fail(type(error).__name__, repr(error))
        return None
    if answer.status_code != 201:
        tally.fail(f"status {answer.status_code}", answer.text)
        return None
    tally.setup_s.append(time.monotonic() - started)
    created: dict[str, object] = answer.json()
    return created


async def _one_turn(
    client: httpx.AsyncClient, tally: Tally, url: str, headers: dict[str, str]
) -> None:
    tally.requests += 1
    started = time.monotonic()
    events: list[str] = []
    try:
        body = {"content": "How do glaciers shape valleys?"}
        async with client.stream("POST", url, json=body, headers=headers) as answer:
            if answer.status_code != 200:
                tally.fail(f"status {answer.status_code}", (await answer.aread()).decode())
                return
            async for line in answer.aiter_lines():
                if line.startswith("event: "):
                    events.append(line.removeprefix("event: "))
    except httpx.HTTPError as error:
        tally.fail(type(error).__name__, f"{error!r} after {len(events)} events")
        return
    if events[-1:] != ["done"]:
        tally.fail("no done", ",".join(events))
        return
    tally.turns_s.append(time.monotonic() - started)


async def _end_user(client: httpx.AsyncClient, site: Site, tally: Tally, until: float) -> None:
    """One anonymous visitor: a session, a conversation, then messages until the time is up
    (at least one, however long starting took)."""
    page = {"Origin": site.origin}
    started = await _call(
        client,
        tally,
        "/api/v1/public/sessions",
        {**page, "Authorization": f"Bearer {site.key}"},
        {},
    )
    if started is None:
        return
    headers = {**page, "Authorization": f"Bearer {started['session_token']}"}
    made = await _call(client, tally, "/api/v1/public/conversations", headers, {})
    if made is None:
        return
    url = f"/api/v1/public/conversations/{made['id']}/messages/stream"
    await _one_turn(client, tally, url, headers)
    while time.monotonic() < until:
        await _one_turn(client, tally, url, headers)


def _problems(log: str) -> list[str]:
    """The service's warning and error lines (at most ten), to say why a request failed."""
    found = [
        json.dumps(event)[:600]
        for event in log_events(log)
        if event.get("level") in ("warning", "error", "critical")
    ]
    return found[:10]


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


async def test_200_anonymous_end_users_chat_through_publishable_keys_without_errors(
    databases: tuple[str, str],
) -> None:
    core_url, agent_url = databases
    agent_env = agent_load_environment(agent_url)
    with running_uvicorn("agent_service.main:create_app", agent_env) as agent:
        core_env = core_load_environment(
            core_url,
            agent.base_url,
            # Each visitor here chats back to back for the whole run, far faster than a person.
            CORE_PUBLIC_MESSAGES_PER_END_USER_PER_MINUTE="10000",
        )
        with running_uvicorn("core_service.main:create_app", core_env) as core:
            # One connection per visitor, dropped before uvicorn's keep-alive timeout could
            # close it under a request being sent.
            limits = httpx.Limits(
                max_connections=END_USERS, max_keepalive_connections=END_USERS, keepalive_expiry=2
            )
            async with httpx.AsyncClient(
                base_url=core.base_url, timeout=60, limits=limits
            ) as client:
                owner, sites = await _prepare(client, core_url)
                with running_worker(core_env):
                    await _wait_indexed(client, owner)
                tally = Tally()
                started = time.monotonic()
                until = started + WARM_UP_S + LOAD_S
                visitors = [
                    _end_user(client, sites[n % len(sites)], tally, until) for n in range(END_USERS)
                ]
                await asyncio.wait_for(asyncio.gather(*visitors), LOAD_S + 180)
                elapsed = time.monotonic() - started
                listed = await client.get(
                    f"/api/v1/bots/{(await _bot_id(client, owner))}/analytics",
                    headers=owner.headers,
                )
            core_problems = _problems(core.output())

    figures = {
        "end_users": END_USERS,
        "seconds": round(elapsed, 1),
        "requests": tally.requests,
        "turns": len(tally.turns_s),
        "turns_per_second": round(len(tally.turns_s) / elapsed, 1),
        "turn_p50_ms": round(statistics.median(tally.turns_s or [0]) * 1000),
        "turn_p99_ms": round(_percentile(tally.turns_s, 0.99) * 1000),
        "session_or_conversation_p50_ms": round(statistics.median(tally.setup_s or [0]) * 1000),
        "session_or_conversation_p99_ms": round(_percentile(tally.setup_s, 0.99) * 1000),
        "errors": dict(tally.errors),
        "analytics_end_users": listed.json().get("end_users"),
    }
    print(f"\n{json.dumps(figures)}")  # noqa: T201 - the figures go into the report
    assert tally.errors == Counter(), (tally.examples, core_problems)
    assert len(tally.turns_s) >= END_USERS
    assert figures["analytics_end_users"] == END_USERS


async def _bot_id(client: httpx.AsyncClient, owner: SignedUpUser) -> str:
    bots = (await client.get("/api/v1/bots", headers=owner.headers)).json()["items"]
    return str(bots[0]["id"])
