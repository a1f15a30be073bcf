"""Conversations and chat through the HTTP API with the real agent in-process."""

import asyncio
import json
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import Message

from core_service.config import Settings
from testsupport.agent_inprocess import AgentHarness
from testsupport.core_content import (
    core_client_with_agent,
    create_bot,
    drain,
    make_worker,
    upload,
)
from testsupport.core_users import SignedUpUser, plans_restored, signup

VOLCANO = b"Volcanoes erupt molten basalt lava from magma chambers deep underground."
OWLS = b"Owls hunt mice at night using silent feathers and sharp hearing."


async def _bot_with_documents(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings, user: SignedUpUser
) -> tuple[dict[str, Any], dict[str, str]]:
    bot = await create_bot(client, user)
    ids = {}
    for name, data in (("volcano.txt", VOLCANO), ("owls.txt", OWLS)):
        ids[name] = (await upload(client, user, bot["id"], name, data)).json()["id"]
    await drain(make_worker(app, settings, worker_id="w1"))
    return bot, ids


async def _conversation(client: httpx.AsyncClient, user: SignedUpUser, bot_id: str) -> str:
    answer = await client.post(
        f"/api/v1/bots/{bot_id}/conversations", json={}, headers=user.headers
    )
    assert answer.status_code == 201
    return str(answer.json()["id"])


def _events(body: str) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for frame in body.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in frame.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events


async def test_chat_answers_with_citations_of_the_right_document(
    content_client: httpx.AsyncClient, content_app: FastAPI, core_settings: Settings
) -> None:
    user = await signup(content_client)
    bot, ids = await _bot_with_documents(content_client, content_app, core_settings, user)
    conversation_id = await _conversation(content_client, user, bot["id"])

    answer = await content_client.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        json={"content": "What do volcanoes erupt?"},
        headers=user.headers,
    )

    assert answer.status_code == 200, answer.text
    turn = answer.json()
    assert turn["user_message"]["role"] == "user"
    assert turn["user_message"]["content"] == "What do volcanoes erupt?"
    assistant = turn["assistant_message"]
    assert assistant["role"] == "assistant"
    assert assistant["content"]
    assert assistant["citations"], assistant
    assert assistant["citations"][0]["document_id"] == ids["volcano.txt"]
    chunk_ids = {
        c["id"]
        for c in (
            await content_client.get(
                f"/api/v1/bots/{bot['id']}/documents/{ids['volcano.txt']}/chunks",
                headers=user.headers,
            )
        ).json()["items"]
    }
    assert assistant["citations"][0]["chunk_id"] in chunk_ids


async def test_messages_are_listed_oldest_first_and_history_is_sent(
    content_client: httpx.AsyncClient, content_app: FastAPI, core_settings: Settings
) -> None:
    user = await signup(content_client)
    bot, _ = await _bot_with_documents(content_client, content_app, core_settings, user)
    conversation_id = await _conversation(content_client, user, bot["id"])
    url = f"/api/v1/conversations/{conversation_id}/messages"

    for question in ("Tell me about owls.", "And volcanoes?"):
        sent = await content_client.post(url, json={"content": question}, headers=user.headers)
        assert sent.status_code == 200, sent.text
    page = await content_client.get(url, headers=user.headers)
    tail = await content_client.get(f"{url}?limit=2&offset=2", headers=user.headers)
    conversation = await content_client.get(
        f"/api/v1/conversations/{conversation_id}", headers=user.headers
    )

    roles = [(m["role"], m["content"]) for m in page.json()["items"]]
    assert page.json()["total"] == 4
    assert roles[0] == ("user", "Tell me about owls.")
    assert [role for role, _ in roles] == ["user", "assistant", "user", "assistant"]
    assert tail.json()["items"][0]["content"] == "And volcanoes?"
    assert conversation.json()["title"] == "Tell me about owls."


async def test_the_stream_relays_tokens_citations_and_stores_the_answer(
    content_client: httpx.AsyncClient, content_app: FastAPI, core_settings: Settings
) -> None:
    user = await signup(content_client)
    bot, ids = await _bot_with_documents(content_client, content_app, core_settings, user)
    conversation_id = await _conversation(content_client, user, bot["id"])

    answer = await content_client.post(
        f"/api/v1/conversations/{conversation_id}/messages/stream",
        json={"content": "How do owls hunt?"},
        headers=user.headers,
    )
    events = _events(answer.text)
    stored = await content_client.get(
        f"/api/v1/conversations/{conversation_id}/messages", headers=user.headers
    )

    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/event-stream")
    names = [name for name, _ in events]
    assert names[0] == "token"
    assert names[-2:] == ["citations", "done"]
    streamed = "".join(data["delta"] for name, data in events if name == "token")
    citations = events[-2][1]["citations"]
    assert citations[0]["document_id"] == ids["owls.txt"]
    message = events[-1][1]["message"]
    assert message["content"] == streamed
    assert message["role"] == "assistant"
    assert [m["id"] for m in stored.json()["items"]][-1] == message["id"]


async def test_agent_down_is_503_and_the_users_message_is_kept_but_not_counted(
    content_client: httpx.AsyncClient,
    content_app: FastAPI,
    core_settings: Settings,
    agent: AgentHarness,
) -> None:
    user = await signup(content_client)
    bot, _ = await _bot_with_documents(content_client, content_app, core_settings, user)
    conversation_id = await _conversation(content_client, user, bot["id"])
    url = f"/api/v1/conversations/{conversation_id}/messages"

    agent.transport.available = False
    failed = await content_client.post(url, json={"content": "Still there?"}, headers=user.headers)
    streamed = await content_client.post(
        f"{url}/stream", json={"content": "Hello?"}, headers=user.headers
    )
    agent.transport.available = True
    stored = await content_client.get(url, headers=user.headers)
    usage = await content_client.get("/api/v1/usage", headers=user.headers)

    assert usage.json()["messages"]["used"] == 0  # no answer came: neither message is counted
    assert failed.status_code == 503
    assert failed.json()["error"] == "AgentUnavailable"
    assert streamed.status_code == 200
    assert [(name, data["error"]) for name, data in _events(streamed.text)] == [
        ("error", "AgentUnavailable")
    ]
    assert [(m["role"], m["content"]) for m in stored.json()["items"]] == [
        ("user", "Still there?"),
        ("user", "Hello?"),
    ]


async def test_conversations_are_listed_and_deleted_with_their_messages(
    content_client: httpx.AsyncClient,
    content_app: FastAPI,
    core_settings: Settings,
    core_db: AsyncEngine,
) -> None:
    user = await signup(content_client)
    bot, _ = await _bot_with_documents(content_client, content_app, core_settings, user)
    first = await _conversation(content_client, user, bot["id"])
    second = await _conversation(content_client, user, bot["id"])
    await content_client.post(
        f"/api/v1/conversations/{first}/messages", json={"content": "hi"}, headers=user.headers
    )

    listed = await content_client.get(
        f"/api/v1/bots/{bot['id']}/conversations", headers=user.headers
    )
    deleted = await content_client.delete(f"/api/v1/conversations/{first}", headers=user.headers)
    gone = await content_client.get(f"/api/v1/conversations/{first}", headers=user.headers)
    async with core_db.connect() as connection:
        messages = await connection.scalar(text("SELECT count(*) FROM messages"))

    assert [c["id"] for c in listed.json()["items"]] == [second, first]
    assert deleted.status_code == 204
    assert gone.status_code == 404
    assert messages == 0


async def test_a_client_leaving_mid_stream_leaves_a_consistent_conversation(
    content_client: httpx.AsyncClient, content_app: FastAPI, core_settings: Settings
) -> None:
    user = await signup(content_client)
    bot, _ = await _bot_with_documents(content_client, content_app, core_settings, user)
    conversation_id = await _conversation(content_client, user, bot["id"])
    path = f"/api/v1/conversations/{conversation_id}/messages/stream"
    body = json.dumps({"content": "How do owls hunt?"}).encode()
    received: list[bytes] = []
    first_chunk = asyncio.Event()
    requested = False

    async def receive() -> Message:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": body, "more_body": False}
        await first_chunk.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.body" and message.get("body"):
            received.append(message["body"])
            first_chunk.set()
            await asyncio.sleep(0.2)  # a slow network: the disconnect arrives meanwhile

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"core.test"),
            (b"authorization", user.headers["Authorization"].encode()),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("core.test", 80),
    }
    await content_app(scope, receive, send)
    stored = await content_client.get(
        f"/api/v1/conversations/{conversation_id}/messages", headers=user.headers
    )
    again = await content_client.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        json={"content": "Are you still there?"},
        headers=user.headers,
    )

    assert len(received) == 1
    assert received[0].startswith(b"event: token")
    assert [(m["role"], m["content"]) for m in stored.json()["items"]] == [
        ("user", "How do owls hunt?")
    ]
    assert again.status_code == 200


async def test_past_the_monthly_message_quota_chat_is_429_and_nothing_is_stored(
    content_client: httpx.AsyncClient,
    content_app: FastAPI,
    core_settings: Settings,
    core_db: AsyncEngine,
) -> None:
    user = await signup(content_client)
    bot, _ = await _bot_with_documents(content_client, content_app, core_settings, user)
    conversation_id = await _conversation(content_client, user, bot["id"])
    url = f"/api/v1/conversations/{conversation_id}/messages"

    async with plans_restored(core_db):
        async with core_db.begin() as connection:
            await connection.execute(
                text("UPDATE subscription_plans SET max_messages_per_month = 1 WHERE name = 'free'")
            )
        allowed = await content_client.post(url, json={"content": "one"}, headers=user.headers)
        refused = await content_client.post(url, json={"content": "two"}, headers=user.headers)
        streamed = await content_client.post(
            f"{url}/stream", json={"content": "three"}, headers=user.headers
        )
    stored = await content_client.get(url, headers=user.headers)

    assert allowed.status_code == 200
    assert (refused.status_code, streamed.status_code) == (429, 429)
    assert refused.json()["error"] == "QuotaExceeded"
    assert int(refused.headers["Retry-After"]) > 0
    assert [m["content"] for m in stored.json()["items"] if m["role"] == "user"] == ["one"]


async def test_the_agent_gets_the_bots_namespace_config_and_recent_history(
    core_settings: Settings, core_db: AsyncEngine, agent: AgentHarness
) -> None:
    settings = core_settings.model_copy(update={"chat_history_max_messages": 3})
    async with core_client_with_agent(settings, agent) as client:
        user = await signup(client)
        bot = await create_bot(client, user, temperature=0.7, top_k=3, system_prompt="Be brief.")
        conversation_id = await _conversation(client, user, bot["id"])
        url = f"/api/v1/conversations/{conversation_id}/messages"
        for content in ("first", "second", "third"):
            answer = await client.post(
                url, json={"content": content}, headers={**user.headers, "X-Request-ID": content}
            )
            assert answer.status_code == 200, answer.text
        stored = (await client.get(url, headers=user.headers)).json()["items"]

    chats = [r for r in agent.transport.sent if r.url.path == "/v1/chat"]
    last = json.loads(chats[-1].content)
    assert (last["namespace"], last["message"]) == (f"bot-{bot['id']}", "third")
    assert last["config"]["temperature"] == 0.7
    assert (last["config"]["top_k"], last["config"]["system_prompt"]) == (3, "Be brief.")
    assert [(h["role"], h["content"]) for h in last["history"]] == [
        (m["role"], m["content"]) for m in stored[1:4]
    ]
    assert [r.headers["X-Request-ID"] for r in chats] == ["first", "second", "third"]


@pytest.mark.parametrize(("token_budget", "sent"), [(25, ["b", "c"]), (200, ["a", "b", "c"])])
async def test_history_stops_at_the_token_budget(
    core_settings: Settings,
    core_db: AsyncEngine,
    agent: AgentHarness,
    token_budget: int,
    sent: list[str],
) -> None:
    settings = core_settings.model_copy(update={"chat_history_token_budget": token_budget})
    async with core_client_with_agent(settings, agent) as client:
        user = await signup(client)
        bot = await create_bot(client, user)
        conversation_id = await _conversation(client, user, bot["id"])
        async with core_db.begin() as connection:
            for sequence, content in enumerate(("a" * 400, "b" * 40, "c" * 40)):
                await connection.execute(
                    text(
                        "INSERT INTO messages (id, conversation_id, role, content, citations,"
                        " input_tokens, output_tokens, created_at)"
                        " VALUES (gen_random_uuid(), :c, :role, :content, '[]', 0, 0, now())"
                    ),
                    {
                        "c": conversation_id,
                        "role": ("user", "assistant")[sequence % 2],
                        "content": content,
                    },
                )
        answer = await client.post(
            f"/api/v1/conversations/{conversation_id}/messages",
            json={"content": "and now?"},
            headers=user.headers,
        )

    assert answer.status_code == 200, answer.text
    chats = [r for r in agent.transport.sent if r.url.path == "/v1/chat"]
    history = json.loads(chats[-1].content)["history"]
    # 100 + 10 + 10 tokens, newest first: a budget of 25 stops before the 400-character turn.
    assert [h["content"][0] for h in history] == sent


async def test_a_refused_turn_counts_and_stores_nothing(
    content_client: httpx.AsyncClient, core_db: AsyncEngine
) -> None:
    # The user, the conversation and the quota are checked before anything is written.
    staff = await signup(content_client, engine=core_db, staff=True)
    owner = await signup(content_client)
    intruder = await signup(content_client)
    bot = await create_bot(content_client, owner)
    conversation_id = await _conversation(content_client, owner, bot["id"])
    url = f"/api/v1/conversations/{conversation_id}/messages"

    foreign = await content_client.post(url, json={"content": "hi"}, headers=intruder.headers)
    foreign_stream = await content_client.post(
        f"{url}/stream", json={"content": "hi"}, headers=intruder.headers
    )
    missing = await content_client.post(
        f"/api/v1/conversations/{uuid.uuid4()}/messages",
        json={"content": "hi"},
        headers=owner.headers,
    )
    await content_client.post(f"/api/v1/admin/users/{owner.id}/deactivate", headers=staff.headers)
    inactive = await content_client.post(url, json={"content": "hi"}, headers=owner.headers)
    async with core_db.connect() as connection:
        messages = await connection.scalar(text("SELECT count(*) FROM messages"))
        counted = await connection.scalar(
            text("SELECT coalesce(sum(amount), 0) FROM usage_counters WHERE metric = 'messages'")
        )
        title = await connection.scalar(
            text("SELECT title FROM conversations WHERE id = :id"), {"id": conversation_id}
        )

    assert [foreign.status_code, foreign_stream.status_code, missing.status_code] == [404] * 3
    assert foreign.json()["error"] == "NotFound"
    assert (inactive.status_code, inactive.json()["error"]) == (401, "InvalidToken")
    assert (messages, counted, title) == (0, 0, "")


class _DeletesTheConversation(httpx.AsyncBaseTransport):
    """In front of the agent: the conversation is deleted while the agent answers."""

    def __init__(self, inner: httpx.AsyncBaseTransport, engine: AsyncEngine) -> None:
        self.inner = inner
        self.engine = engine

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/v1/chat"):
            async with self.engine.begin() as connection:
                await connection.execute(text("DELETE FROM conversations"))
        return await self.inner.handle_async_request(request)


@pytest.mark.parametrize("streamed", [False, True])
async def test_a_conversation_deleted_while_the_agent_answers_keeps_no_orphan_answer(
    core_settings: Settings, core_db: AsyncEngine, agent: AgentHarness, streamed: bool
) -> None:
    async with core_client_with_agent(
        core_settings, agent, in_front=lambda inner: _DeletesTheConversation(inner, core_db)
    ) as client:
        user = await signup(client)
        bot = await create_bot(client, user)
        conversation_id = await _conversation(client, user, bot["id"])
        url = f"/api/v1/conversations/{conversation_id}/messages"
        answer = await client.post(
            f"{url}/stream" if streamed else url, json={"content": "hi"}, headers=user.headers
        )
    async with core_db.connect() as connection:
        messages = await connection.scalar(text("SELECT count(*) FROM messages"))

    if streamed:
        assert _events(answer.text)[-1] == (
            "error",
            {
                "error": "NotFound",
                "detail": "The conversation was deleted while the answer was written.",
            },
        )
    else:
        assert (answer.status_code, answer.json()["error"]) == (404, "NotFound")
    assert messages == 0
