"""Tokens are not buffered on the way: core and the agent run as real processes and the model is
a loopback stub that sends its first token and then holds the rest until the test has seen that
token at the client."""

import asyncio
import json
import threading
import uuid
from collections.abc import AsyncIterator

import httpx

from testsupport.core_content import create_bot
from testsupport.core_users import signup
from testsupport.load import agent_load_environment, core_load_environment, load_databases
from testsupport.postgres import PostgresServer
from testsupport.service_process import running_uvicorn
from testsupport.stub_openai import running_slow_chat_server

TOKENS = ["Glaciers ", "carve ", "valleys."]


async def test_the_first_token_reaches_the_client_before_the_model_sends_the_second(
    postgres_server: PostgresServer,
) -> None:
    second_may_come = threading.Event()
    async with load_databases(postgres_server, "unbuffered") as (core_db, agent_db):
        with running_slow_chat_server(
            tokens=TOKENS, token_interval_s=0, hold_after_first=second_may_come
        ) as model:
            agent_env = agent_load_environment(agent_db) | {
                "AGENT_CHAT_PROVIDER": "openai",
                "AGENT_OPENAI_BASE_URL": model.base_url,
                "AGENT_OPENAI_CHAT_MODEL": "slow-model",
            }
            with (
                running_uvicorn("agent_service.main:create_app", agent_env) as agent,
                running_uvicorn(
                    "core_service.main:create_app", core_load_environment(core_db, agent.base_url)
                ) as core,
            ):
                deltas = await _deltas_of_a_new_chat(core.base_url, agent.base_url)
                try:
                    first = await asyncio.wait_for(anext(deltas), 20)
                    held = not second_may_come.is_set()
                finally:
                    second_may_come.set()
                rest = [delta async for delta in deltas]
    assert (first, held) == (TOKENS[0], True)
    assert [first, *rest] == TOKENS


async def _deltas_of_a_new_chat(core_url: str, agent_url: str) -> AsyncIterator[str]:
    client = httpx.AsyncClient(base_url=core_url, timeout=30)
    user = await signup(client)
    bot = await create_bot(client, user)
    await _index_passage(agent_url, bot["id"], "Glaciers carve valleys.")
    created = await client.post(
        f"/api/v1/bots/{bot['id']}/conversations", json={}, headers=user.headers
    )
    url = f"/api/v1/conversations/{created.json()['id']}/messages/stream"
    return _token_deltas(client, url, user.headers)


async def _token_deltas(
    client: httpx.AsyncClient, url: str, headers: dict[str, str]
) -> AsyncIterator[str]:
    try:
        async with client.stream(
            "POST", url, json={"content": "glaciers?"}, headers=headers
        ) as answer:
            assert answer.status_code == 200
            event = ""
            async for line in answer.aiter_lines():
                if line.startswith("event: "):
                    event = line.removeprefix("event: ")
                elif event == "token" and line.startswith("data: "):
                    yield json.loads(line.removeprefix("data: "))["delta"]
    finally:
        await client.aclose()


async def _index_passage(agent_url: str, bot_id: str, text: str) -> None:
    chunk = {"id": "passage-1", "document_id": str(uuid.uuid4()), "text": text}
    async with httpx.AsyncClient(base_url=agent_url, timeout=30) as agent:
        indexed = await agent.post(
            "/v1/index/upsert",
            json={"namespace": f"bot-{bot_id}", "chunks": [chunk]},
            headers={"Authorization": "Bearer development-only-agent-key"},
        )
    assert indexed.status_code == 200, indexed.text
