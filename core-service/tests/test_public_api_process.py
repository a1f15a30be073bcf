"""The public chat API as a browser on a shop's web site sees it, over real sockets against a
real core process (the agent is a loopback stub)."""

import json
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from testsupport.core_content import create_bot
from testsupport.core_public import new_key
from testsupport.core_users import signup
from testsupport.service_process import running_uvicorn
from testsupport.stub_agent import running_slow_agent

SHOP = "http://127.0.0.1:8123"


def _core_env(database_url: str, agent_url: str) -> dict[str, str]:
    return {
        "CORE_ENVIRONMENT": "test",
        "CORE_DATABASE_URL": database_url,
        "CORE_AGENT_URL": agent_url,
        "CORE_ARGON2_MEMORY_KIB": "1024",
        "CORE_ARGON2_TIME_COST": "1",
        "CORE_ARGON2_PARALLELISM": "1",
    }


def _events(body: str) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for frame in body.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in frame.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events


async def _fresh(base_url: str, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """One request on a new connection, as another tab or replica's client would make it."""
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        return await client.request(method, url, **kwargs)


@pytest.mark.slow
async def test_a_shop_page_chats_with_a_bot_over_a_real_socket(
    core_database_url: str, core_db: AsyncEngine
) -> None:
    with (
        running_slow_agent(tokens=["Lava ", "flows."]) as agent,
        running_uvicorn(
            "core_service.main:create_app", _core_env(core_database_url, agent.url)
        ) as core,
    ):
        base = core.base_url
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            owner = await signup(client)
            bot = await create_bot(client, owner)
            key = await new_key(
                client, owner, bot["id"], kind="publishable", allowed_origins=[SHOP]
            )
        page = {"Origin": SHOP}
        preflight = await _fresh(
            base,
            "OPTIONS",
            "/api/v1/public/sessions",
            headers={**page, "Access-Control-Request-Method": "POST"},
        )
        started = await _fresh(
            base,
            "POST",
            "/api/v1/public/sessions",
            json={},
            headers={**page, "Authorization": f"Bearer {key['key']}"},
        )
        visitor = {**page, "Authorization": f"Bearer {started.json()['session_token']}"}
        made = await _fresh(base, "POST", "/api/v1/public/conversations", json={}, headers=visitor)
        url = f"/api/v1/public/conversations/{made.json()['id']}/messages"
        turn = await _fresh(base, "POST", url, json={"content": "lava?"}, headers=visitor)
        streamed = await _fresh(
            base, "POST", f"{url}/stream", json={"content": "more?"}, headers=visitor
        )
        stored = await _fresh(base, "GET", url, headers=visitor)
        revoked = await _fresh(
            base,
            "DELETE",
            f"/api/v1/bots/{bot['id']}/keys/{key['id']}",
            headers=owner.headers,
        )
        after = await _fresh(base, "GET", url, headers=visitor)

    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == SHOP
    assert started.status_code == 201, started.text
    assert started.headers["access-control-allow-origin"] == SHOP
    assert turn.status_code == 200, turn.text
    assert turn.json()["assistant_message"]["content"] == "Lava flows."
    events = _events(streamed.text)
    assert [name for name, _ in events] == ["token", "token", "citations", "done"]
    assert streamed.headers["access-control-allow-origin"] == SHOP
    assert [m["content"] for m in stored.json()["items"]] == [
        "lava?",
        "Lava flows.",
        "more?",
        "Lava flows.",
    ]
    assert revoked.status_code == 204
    assert (after.status_code, after.json()["error"]) == (401, "InvalidSession")
