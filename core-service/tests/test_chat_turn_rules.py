"""The chat turn's rules as a client sees them, answered at once and streamed alike.

Ownership, the active user, the monthly message quota and the charge that only an answer takes;
a database failure in the middle of a turn; documents deleted before the answer is stored.
"""

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from chatsphere_contracts.v1 import Citation
from core_service.config import Settings
from core_service.migrate import upgrade_to_head_async
from testsupport.agent_inprocess import AgentHarness
from testsupport.core_content import core_client_with_agent, create_bot, drain, make_worker
from testsupport.core_users import SignedUpUser, plans_restored, signup
from testsupport.postgres import (
    restart_embedded_postgres,
    start_embedded_postgres,
    stop_embedded_postgres,
)
from testsupport.service_process import running_uvicorn
from testsupport.stub_agent import running_slow_agent

# What a turn left behind: (messages counted this month, user messages, assistant messages).
State = tuple[int, int, int]


def _events(body: str) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for frame in body.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in frame.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events


async def _conversation(
    client: httpx.AsyncClient, user: SignedUpUser, bot: dict[str, Any] | None = None
) -> str:
    bot = bot or await create_bot(client, user)
    created = await client.post(
        f"/api/v1/bots/{bot['id']}/conversations", json={}, headers=user.headers
    )
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def _text_document(
    client: httpx.AsyncClient, user: SignedUpUser, bot_id: str, name: str, content: str = ""
) -> str:
    created = await client.post(
        f"/api/v1/bots/{bot_id}/documents/text",
        json={"name": name, "content": content or f"All about {name}."},
        headers=user.headers,
    )
    assert created.status_code == 202, created.text
    return str(created.json()["id"])


async def _turn(
    client: httpx.AsyncClient, user: SignedUpUser, conversation_id: str, *, streamed: bool
) -> str:
    """``answered``, or the error a client is given (as a status or as the stream's last event)."""
    url = f"/api/v1/conversations/{conversation_id}/messages" + ("/stream" if streamed else "")
    answer = await client.post(url, json={"content": "What do volcanoes do?"}, headers=user.headers)
    if answer.status_code != 200:
        return f"{answer.status_code} {answer.json()['error']}"
    if not streamed:
        return "answered"
    name, data = _events(answer.text)[-1]
    return "answered" if name == "done" else f"event {data['error']}"


async def _state(engine: AsyncEngine, user: SignedUpUser, conversation_id: str) -> State:
    async with engine.connect() as connection:
        counted = await connection.scalar(
            text(
                "SELECT coalesce(sum(amount), 0) FROM usage_counters"
                " WHERE user_id = :user AND metric = 'messages'"
            ),
            {"user": uuid.UUID(user.id)},
        )
        roles: dict[str, int] = dict(
            (
                await connection.execute(
                    text(
                        "SELECT role, count(*) FROM messages WHERE conversation_id = :c"
                        " GROUP BY role"
                    ),
                    {"c": uuid.UUID(conversation_id)},
                )
            ).all()
        )
    return int(counted or 0), roles.get("user", 0), roles.get("assistant", 0)


async def _set_free_cap(engine: AsyncEngine, cap: int) -> None:
    async with engine.begin() as connection:
        await connection.execute(
            text("UPDATE subscription_plans SET max_messages_per_month = :cap WHERE name = 'free'"),
            {"cap": cap},
        )


async def _outcomes(
    client: httpx.AsyncClient, engine: AsyncEngine, agent: AgentHarness, *, streamed: bool
) -> dict[str, tuple[str, State]]:
    """Each rule's case on a fresh user: what the client got and what the turn left behind."""
    outcomes: dict[str, tuple[str, State]] = {}
    staff = await signup(client, engine=engine, staff=True)

    async def case(name: str, prepare: Callable[[SignedUpUser], Awaitable[object]]) -> None:
        owner = await signup(client)
        conversation_id = await _conversation(client, owner)
        caller = await prepare(owner)
        asking = caller if isinstance(caller, SignedUpUser) else owner
        outcome = await _turn(client, asking, conversation_id, streamed=streamed)
        outcomes[name] = (outcome, await _state(engine, owner, conversation_id))

    async def nothing(_: SignedUpUser) -> None:
        return None

    async def deactivate(owner: SignedUpUser) -> None:
        url = f"/api/v1/admin/users/{owner.id}/deactivate"
        assert (await client.post(url, headers=staff.headers)).status_code == 200

    async def stranger(_: SignedUpUser) -> SignedUpUser:
        return await signup(client)

    async def spend_the_quota(owner: SignedUpUser) -> None:
        spent_on = await _conversation(client, owner)
        assert await _turn(client, owner, spent_on, streamed=streamed) == "answered"

    async def agent_down(_: SignedUpUser) -> None:
        agent.transport.available = False

    await case("answered", nothing)
    async with plans_restored(engine):
        await _set_free_cap(engine, 1)
        await case("quota spent", spend_the_quota)
    await case("inactive user", deactivate)
    await case("someone else's conversation", stranger)
    try:
        await case("agent down", agent_down)
    finally:
        agent.transport.available = True
    return outcomes


async def test_the_turns_rules_hold_alike_answered_at_once_and_streamed(
    content_client: httpx.AsyncClient, core_db: AsyncEngine, agent: AgentHarness
) -> None:
    at_once = await _outcomes(content_client, core_db, agent, streamed=False)
    streamed = await _outcomes(content_client, core_db, agent, streamed=True)

    refusals = {name: outcome for name, (outcome, _) in at_once.items()}
    assert refusals == {
        "answered": "answered",
        "quota spent": "429 QuotaExceeded",
        "inactive user": "401 InvalidToken",
        "someone else's conversation": "404 NotFound",
        "agent down": "503 AgentUnavailable",
    }
    # The stream refuses with the same status; an agent failure after it began is an event.
    assert {**refusals, "agent down": "event AgentUnavailable"} == {
        name: outcome for name, (outcome, _) in streamed.items()
    }
    states = {name: state for name, (_, state) in at_once.items()}
    assert states == {
        "answered": (1, 1, 1),
        "quota spent": (1, 0, 0),  # the count of the other conversation's answered turn
        "inactive user": (0, 0, 0),
        "someone else's conversation": (0, 0, 0),
        "agent down": (0, 1, 0),  # the message is kept; without an answer it costs nothing
    }
    assert states == {name: state for name, (_, state) in streamed.items()}


class _StopsTheDatabase(httpx.AsyncBaseTransport):
    """In front of the agent: the core database stops while the agent answers, when armed."""

    def __init__(self, inner: httpx.AsyncBaseTransport, server: object) -> None:
        self.inner = inner
        self.server = server
        self.armed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.armed and request.url.path.startswith("/v1/chat"):
            await asyncio.to_thread(stop_embedded_postgres, self.server)
        return await self.inner.handle_async_request(request)


async def _count_turns(client: httpx.AsyncClient, user: SignedUpUser, url: str) -> tuple[int, int]:
    """(messages counted this month, assistant messages stored), as the API tells them."""
    usage = (await client.get("/api/v1/usage", headers=user.headers)).json()
    messages = (await client.get(url, headers=user.headers)).json()["items"]
    answered = sum(1 for message in messages if message["role"] == "assistant")
    return usage["messages"]["used"], answered


async def test_a_database_failure_mid_turn_leaves_the_charge_and_the_answers_in_agreement(
    tmp_path: Path, core_settings: Settings, agent: AgentHarness
) -> None:
    server = await asyncio.to_thread(start_embedded_postgres, tmp_path / "pg")
    url = server.get_uri("postgres").replace("postgresql://", "postgresql+asyncpg://")  # type: ignore[attr-defined]
    await upgrade_to_head_async(url)
    in_front: list[_StopsTheDatabase] = []

    def stopper(inner: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        in_front.append(_StopsTheDatabase(inner, server))
        return in_front[0]

    # Pre-ping: connections pooled before the restart are replaced instead of failing once.
    settings = core_settings.model_copy(
        update={"database_url": url, "database_pool_pre_ping": True}
    )
    async with core_client_with_agent(settings, agent, in_front=stopper) as client:
        user = await signup(client)
        messages_url = f"/api/v1/conversations/{await _conversation(client, user)}/messages"
        outcomes = []
        for path in (messages_url, f"{messages_url}/stream"):
            in_front[0].armed = True
            answer = await client.post(path, json={"content": "hi"}, headers=user.headers)
            in_front[0].armed = False
            await asyncio.to_thread(restart_embedded_postgres, server)
            failure = answer.json() if "stream" not in path else _events(answer.text)[-1][1]
            outcomes.append((answer.status_code, failure["error"]))
        after_the_failures = await _count_turns(client, user, messages_url)
        served = await client.post(messages_url, json={"content": "hi"}, headers=user.headers)
        after_an_answer = await _count_turns(client, user, messages_url)
    await asyncio.to_thread(stop_embedded_postgres, server)

    assert outcomes == [(503, "DatabaseUnavailable"), (200, "DatabaseUnavailable")]
    assert after_the_failures == (0, 0)
    assert served.status_code == 200
    assert after_an_answer == (1, 1)


class _BeforeTheAgent(httpx.AsyncBaseTransport):
    """In front of the agent: ``act`` runs once, before the agent answers; its status is kept."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.act: Callable[[], Awaitable[int]] | None = None
        self.statuses: list[int] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        act, self.act = self.act, None
        if act is not None and request.url.path.startswith("/v1/chat"):
            self.statuses.append(await act())
        return await self.inner.handle_async_request(request)


@pytest.mark.parametrize("streamed", [False, True])
async def test_a_document_deleted_while_the_agent_answers_is_not_cited(
    content_client: httpx.AsyncClient,
    content_app: FastAPI,
    core_settings: Settings,
    agent: AgentHarness,
    streamed: bool,
) -> None:
    user = await signup(content_client)
    bot = await create_bot(content_client, user)
    document = f"/api/v1/bots/{bot['id']}/documents/" + await _text_document(
        content_client, user, bot["id"], "volcanoes", "Volcanoes erupt molten basalt lava."
    )
    await drain(make_worker(content_app, core_settings, worker_id="w1"))
    url = f"/api/v1/conversations/{await _conversation(content_client, user, bot)}/messages"
    question = {"content": "What do volcanoes erupt?"}
    cited_before = await content_client.post(url, json=question, headers=user.headers)
    in_front: list[_BeforeTheAgent] = []

    def deleter(inner: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        in_front.append(_BeforeTheAgent(inner))
        return in_front[0]

    async with core_client_with_agent(core_settings, agent, in_front=deleter) as client:

        async def delete() -> int:
            return (await client.delete(document, headers=user.headers)).status_code

        in_front[0].act = delete
        answer = await client.post(
            f"{url}/stream" if streamed else url, json=question, headers=user.headers
        )
        stored = (await client.get(url, headers=user.headers)).json()["items"]

    # The control: while the document exists, the agent cites it.
    before = cited_before.json()["assistant_message"]["citations"]
    assert [document.endswith(c["document_id"]) for c in before][:1] == [True]
    assert in_front[0].statuses == [204]  # deleted before the agent answered
    assert answer.status_code == 200
    if streamed:
        events = dict(_events(answer.text))
        assert events["citations"]["citations"] == []
        assert events["done"]["message"]["citations"] == []
    else:
        assert answer.json()["assistant_message"]["citations"] == []
    assert stored[-1]["role"] == "assistant"
    assert stored[-1]["citations"] == []


@pytest.mark.parametrize("streamed", [False, True])
async def test_a_turn_that_loses_the_race_for_the_last_message_is_neither_stored_nor_counted(
    core_settings: Settings, core_db: AsyncEngine, agent: AgentHarness, streamed: bool
) -> None:
    in_front: list[_BeforeTheAgent] = []

    def racer(inner: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        in_front.append(_BeforeTheAgent(inner))
        return in_front[0]

    async with (
        plans_restored(core_db),
        core_client_with_agent(core_settings, agent, in_front=racer) as client,
    ):
        await _set_free_cap(core_db, 1)
        user = await signup(client)
        conversation_id = await _conversation(client, user)
        url = f"/api/v1/conversations/{conversation_id}/messages"

        async def other_turn() -> int:
            other = await client.post(url, json={"content": "first"}, headers=user.headers)
            return other.status_code

        # Both turns pass the check when they start; the other one is answered first.
        in_front[0].act = other_turn
        outcome = await _turn(client, user, conversation_id, streamed=streamed)
        state = await _state(core_db, user, conversation_id)

    assert in_front[0].statuses == [200]
    assert outcome == ("event QuotaExceeded" if streamed else "429 QuotaExceeded")
    assert state == (1, 2, 1)  # both questions kept; one answer, counted once


def _core_env(database_url: str, agent_url: str) -> dict[str, str]:
    return {
        "CORE_ENVIRONMENT": "test",
        "CORE_DATABASE_URL": database_url,
        "CORE_AGENT_URL": agent_url,
        "CORE_ARGON2_MEMORY_KIB": "1024",
        "CORE_ARGON2_TIME_COST": "1",
        "CORE_ARGON2_PARALLELISM": "1",
    }


def _citation(document_id: str) -> Citation:
    return Citation(chunk_id=str(uuid.uuid4()), document_id=document_id, score=0.9, snippet="x")


@pytest.mark.slow
async def test_over_a_real_socket_a_deleted_document_is_never_cited_after_its_204(
    core_database_url: str, core_db: AsyncEngine
) -> None:
    with (
        running_slow_agent(tokens=["Lava ", "flows."]) as agent,
        running_uvicorn(
            "core_service.main:create_app", _core_env(core_database_url, agent.url)
        ) as core,
    ):
        async with httpx.AsyncClient(base_url=core.base_url, timeout=30) as client:
            user = await signup(client)
            bot = await create_bot(client, user)
            kept = await _text_document(client, user, bot["id"], "basalt")
            deleted = await _text_document(client, user, bot["id"], "obsidian")
            # The agent still holds the deleted document's vectors: it cites both.
            agent.citations = [_citation(kept), _citation(deleted)]
            gone = await client.delete(
                f"/api/v1/bots/{bot['id']}/documents/{deleted}", headers=user.headers
            )
            url = f"/api/v1/conversations/{await _conversation(client, user, bot)}/messages"
            answer = await client.post(url, json={"content": "rocks?"}, headers=user.headers)
            streamed = await client.post(
                f"{url}/stream", json={"content": "rocks?"}, headers=user.headers
            )
            stored = (await client.get(url, headers=user.headers)).json()["items"]

    assert gone.status_code == 204
    assert [c["document_id"] for c in answer.json()["assistant_message"]["citations"]] == [kept]
    events = dict(_events(streamed.text))
    assert [c["document_id"] for c in events["citations"]["citations"]] == [kept]
    assert [c["document_id"] for c in events["done"]["message"]["citations"]] == [kept]
    assert [[c["document_id"] for c in m["citations"]] for m in stored] == [[], [kept], [], [kept]]
