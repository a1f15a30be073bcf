"""Every answer says where its time went: the agent's ``timings`` stored on the assistant message
and sent in the stream's ``done``, and a standard ``Server-Timing`` header on core's responses.

A real core process over real sockets (headers are what a browser's tools read); the agent is a
loopback stub speaking its wire format with known timings.
"""

import json
import re
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from chatsphere_contracts.v1 import AnswerTimings
from testsupport.core_users import SignedUpUser, signup
from testsupport.service_process import ServiceProcess, running_uvicorn
from testsupport.stub_agent import running_slow_agent

AGENT_TIMINGS = AnswerTimings(
    retrieval_ms=12.5, first_token_ms=40.0, generation_ms=30.25, total_ms=42.75
)
_ENTRY = re.compile(r"^([a-z][a-z0-9_-]*);dur=(\d+(?:\.\d+)?)$")

pytestmark = pytest.mark.slow


@pytest.fixture
async def core(core_database_url: str, core_db: AsyncEngine) -> AsyncIterator[ServiceProcess]:
    """A real core process whose agent is a loopback stub with known timings."""
    env = {
        "CORE_ENVIRONMENT": "test",
        "CORE_DATABASE_URL": core_database_url,
        "CORE_ARGON2_MEMORY_KIB": "1024",
        "CORE_ARGON2_TIME_COST": "1",
        "CORE_ARGON2_PARALLELISM": "1",
    }
    with running_slow_agent(tokens=["Tea ", "at six."], timings=AGENT_TIMINGS) as agent:
        with running_uvicorn(
            "core_service.main:create_app", env | {"CORE_AGENT_URL": agent.url}
        ) as core:
            yield core


def server_timing(response: httpx.Response) -> dict[str, float]:
    """``{metric: milliseconds}`` from the response's ``Server-Timing`` header."""
    entries = [entry.strip() for entry in response.headers["server-timing"].split(",")]
    parsed = [_ENTRY.match(entry) for entry in entries]
    assert all(parsed), entries
    return {match.group(1): float(match.group(2)) for match in parsed if match}


async def _conversation(client: httpx.AsyncClient, user: SignedUpUser) -> str:
    bot = await client.post("/api/v1/bots", json={"name": "b"}, headers=user.headers)
    assert bot.status_code == 201, bot.text
    created = await client.post(
        f"/api/v1/bots/{bot.json()['id']}/conversations", json={}, headers=user.headers
    )
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def test_an_answer_carries_and_stores_the_agents_timings(core: ServiceProcess) -> None:
    async with httpx.AsyncClient(base_url=core.base_url, timeout=30) as client:
        user = await signup(client, username=f"timing_{uuid.uuid4().hex[:12]}")
        conversation_id = await _conversation(client, user)
        messages = f"/api/v1/conversations/{conversation_id}/messages"
        sent = await client.post(messages, json={"content": "Tea?"}, headers=user.headers)
        assert sent.status_code == 200, sent.text
        expected = AGENT_TIMINGS.model_dump()
        assert sent.json()["assistant_message"]["timings"] == expected
        assert sent.json()["user_message"]["timings"] is None
        phases = server_timing(sent)
        assert phases["retrieval"] == 12.5
        assert phases["generation"] == pytest.approx(30.2, abs=0.06)  # one decimal on the wire
        assert phases["db"] > 0
        assert phases["total"] >= phases["agent"] > 0
        stored = (await client.get(messages, headers=user.headers)).json()["items"]
        assert [message["timings"] for message in stored] == [None, expected]


async def test_the_streams_done_event_carries_the_timings(core: ServiceProcess) -> None:
    async with httpx.AsyncClient(base_url=core.base_url, timeout=30) as client:
        user = await signup(client, username=f"timing_{uuid.uuid4().hex[:12]}")
        conversation_id = await _conversation(client, user)
        streamed = await client.post(
            f"/api/v1/conversations/{conversation_id}/messages/stream",
            json={"content": "Tea?"},
            headers=user.headers,
        )
        assert streamed.status_code == 200, streamed.text
        assert "total" in server_timing(streamed)
    blocks = [block.split("\n") for block in streamed.text.strip().split("\n\n")]
    done = next(lines for lines in blocks if lines[0] == "event: done")
    message = json.loads(done[1].removeprefix("data: "))["message"]
    assert message["timings"] == AGENT_TIMINGS.model_dump()


async def test_every_route_says_where_its_time_went(core: ServiceProcess) -> None:
    async with httpx.AsyncClient(base_url=core.base_url, timeout=30) as client:
        user = await signup(client, username=f"timing_{uuid.uuid4().hex[:12]}")
        listed = await client.get("/api/v1/bots", headers=user.headers)
        assert listed.status_code == 200
        phases = server_timing(listed)
        assert set(phases) == {"db", "total"}
        assert 0 < phases["db"] <= phases["total"]
        missing = await client.get("/api/v1/no-such-route")
        assert missing.status_code == 404
        assert set(server_timing(missing)) == {"total"}
