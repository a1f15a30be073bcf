"""The OpenAI-compatible endpoint with the official ``openai`` SDK, unchanged, against a real core
process over a real socket: answers, citations, usage, history, the end user, and each error as
the SDK's own exception."""

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import httpx2
import openai
import pytest
from fastapi import FastAPI
from openai.types.chat import ChatCompletion, ChatCompletionChunk, ChatCompletionMessageParam
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from chatsphere_contracts.v1 import ChatRole, Citation
from core_service.config import Settings
from testsupport.agent_inprocess import AgentHarness
from testsupport.core_content import create_bot
from testsupport.core_public import new_key
from testsupport.core_users import SignedUpUser, plans_restored, signup
from testsupport.service_process import ServiceProcess, running_uvicorn
from testsupport.stub_agent import SlowAgent, running_slow_agent

TOKENS = ["Basalt ", "is ", "cooled ", "lava."]
SHOP = "https://shop.example"
CONVERSATION: list[ChatCompletionMessageParam] = [
    {"role": "system", "content": "Ignored: the bot's own prompt rules."},
    {"role": "user", "content": "Where does lava come from?"},
    {"role": "assistant", "content": "From magma chambers."},
    {"role": "user", "content": "And what is basalt?"},
]


@pytest.fixture(scope="module")
def stub_agent() -> Iterator[SlowAgent]:
    """An agent speaking the v1 wire format and recording what core asks it."""
    with running_slow_agent(tokens=TOKENS) as agent:
        yield agent


@pytest.fixture(scope="module")
def core(core_database_url: str, stub_agent: SlowAgent) -> Iterator[ServiceProcess]:
    """Core as its image runs it, on the test database, in front of the stub agent."""
    env = {
        "CORE_ENVIRONMENT": "test",
        "CORE_DATABASE_URL": core_database_url,
        "CORE_AGENT_URL": stub_agent.url,
        "CORE_ARGON2_MEMORY_KIB": "1024",
        "CORE_ARGON2_TIME_COST": "1",
        "CORE_ARGON2_PARALLELISM": "1",
    }
    with running_uvicorn("core_service.main:create_app", env) as service:
        yield service


async def _bot_with_key(
    core: ServiceProcess, stub_agent: SlowAgent, **key_fields: Any
) -> tuple[SignedUpUser, dict[str, Any], str, str]:
    """An owner, their bot with one document the stub agent cites, and a bot key."""
    async with httpx.AsyncClient(base_url=core.base_url, timeout=30) as client:
        owner = await signup(client)
        bot = await create_bot(client, owner)
        created = await client.post(
            f"/api/v1/bots/{bot['id']}/documents/text",
            json={"name": "rocks.md", "content": "Basalt is cooled lava."},
            headers=owner.headers,
        )
        key = await new_key(client, owner, bot["id"], **key_fields)
    document_id = str(created.json()["id"])
    stub_agent.citations = [
        Citation(chunk_id=str(uuid.uuid4()), document_id=document_id, score=0.9, snippet="Basalt")
    ]
    return owner, bot, key["key"], document_id


def _sync_client(core: ServiceProcess, key: str, **options: Any) -> openai.OpenAI:
    # No retries: each refusal must reach the test as the SDK raises it.
    return openai.OpenAI(
        api_key=key, base_url=f"{core.base_url}/api/v1/openai", max_retries=0, **options
    )


async def _stored(core: ServiceProcess, owner: SignedUpUser, bot_id: str) -> list[Any]:
    """The owner's view: alice's conversations, each as (role, content) of its messages."""
    async with httpx.AsyncClient(base_url=core.base_url, timeout=30) as client:
        listed = await client.get(
            f"/api/v1/bots/{bot_id}/conversations",
            params={"end_user_id": "alice"},
            headers=owner.headers,
        )
        stored = []
        for conversation in reversed(listed.json()["items"]):
            messages = await client.get(
                f"/api/v1/conversations/{conversation['id']}/messages", headers=owner.headers
            )
            stored.append([(m["role"], m["content"]) for m in messages.json()["items"]])
    return stored


@pytest.mark.slow
async def test_the_sdk_gets_answers_citations_and_usage_sync_and_async_streamed_and_not(
    core: ServiceProcess, stub_agent: SlowAgent, core_db: AsyncEngine
) -> None:
    owner, bot, key, document_id = await _bot_with_key(core, stub_agent)
    sync_client = _sync_client(core, key)
    async_client = openai.AsyncOpenAI(
        api_key=key, base_url=f"{core.base_url}/api/v1/openai", max_retries=0
    )
    ask = {"model": bot["id"], "messages": CONVERSATION, "user": "alice", "temperature": 0.7}

    def answer_sync() -> ChatCompletion:
        return sync_client.chat.completions.create(
            model=bot["id"], messages=CONVERSATION, user="alice", temperature=0.7
        )

    def stream_sync() -> list[ChatCompletionChunk]:
        stream = sync_client.chat.completions.create(
            **ask, stream=True, stream_options={"include_usage": True}
        )
        return list(stream)

    models = await asyncio.to_thread(sync_client.models.list)
    model = await asyncio.to_thread(sync_client.models.retrieve, bot["id"])
    answer = await asyncio.to_thread(answer_sync)
    sent = stub_agent.chat_requests[-1]
    chunks = await asyncio.to_thread(stream_sync)
    async_answer = await async_client.chat.completions.create(
        model=bot["id"], messages=CONVERSATION, user="alice", temperature=0.7
    )
    async_stream = await async_client.chat.completions.create(**ask, stream=True)
    async_chunks = [chunk async for chunk in async_stream]
    await async_client.close()

    assert [listed.id for listed in models.data] == [bot["id"]] == [model.id]
    message = answer.choices[0].message
    assert message.content == "".join(TOKENS)
    assert [c["document_id"] for c in (message.model_extra or {})["citations"]] == [document_id]
    assert answer.usage is not None
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (3, len(TOKENS))
    assert answer.usage.total_tokens == 3 + len(TOKENS)
    assert sent.message == "And what is basalt?"
    assert [(h.role, h.content) for h in sent.history] == [
        (ChatRole.USER, "Where does lava come from?"),
        (ChatRole.ASSISTANT, "From magma chambers."),
    ]
    assert sent.config.temperature == 0.7
    assert async_answer.choices[0].message.content == "".join(TOKENS)
    for streamed in (chunks, async_chunks):
        assert "".join(c.choices[0].delta.content or "" for c in streamed if c.choices) == (
            "".join(TOKENS)
        )
        last = [c for c in streamed if c.choices][-1]
        assert last.choices[0].finish_reason == "stop"
        cited = (last.choices[0].delta.model_extra or {})["citations"]
        assert [c["document_id"] for c in cited] == [document_id]
        assert len({c.id for c in streamed}) == 1
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == len(TOKENS)
    assert all(c.usage is None for c in async_chunks)  # usage only when asked for, as OpenAI
    question_and_answer = [("user", "And what is basalt?"), ("assistant", "".join(TOKENS))]
    history = [("user", "Where does lava come from?"), ("assistant", "From magma chambers.")]
    assert await _stored(core, owner, bot["id"]) == [history + question_and_answer] * 4


async def _set_free_cap(engine: AsyncEngine, cap: int) -> None:
    async with engine.begin() as connection:
        await connection.execute(
            text("UPDATE subscription_plans SET max_messages_per_month = :cap WHERE name = 'free'"),
            {"cap": cap},
        )


def _refusal(call: Any) -> openai.APIStatusError:
    try:
        call()
    except openai.APIStatusError as error:
        return error
    raise AssertionError("the call was not refused")


@pytest.mark.slow
async def test_each_refusal_is_the_sdks_own_exception_in_openais_shape(
    core: ServiceProcess, stub_agent: SlowAgent, core_db: AsyncEngine
) -> None:
    owner, bot, key, _ = await _bot_with_key(core, stub_agent)
    _, _, publishable, _ = await _bot_with_key(
        core, stub_agent, kind="publishable", allowed_origins=[SHOP]
    )
    _, _, limited, _ = await _bot_with_key(core, stub_agent, rate_limit_per_minute=1)
    client = _sync_client(core, key)
    question: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Basalt?"}]

    def ask(**extra: Any) -> Any:
        return client.chat.completions.create(**{"model": bot["id"], "messages": question, **extra})

    tool = {"type": "function", "function": {"name": "f", "parameters": {}}}
    browser = _sync_client(core, publishable, default_headers={"Origin": SHOP})
    limited_client = _sync_client(core, limited)
    refusals = {
        "bad key": _refusal(_sync_client(core, "sk_" + "x" * 43).models.list),
        "publishable key": _refusal(browser.models.list),
        "other model": _refusal(lambda: ask(model=str(uuid.uuid4()))),
        "tools": _refusal(lambda: ask(tools=[tool])),
        "n": _refusal(lambda: ask(n=2)),
        "temperature": _refusal(lambda: ask(temperature=2.5)),
        "no question": _refusal(
            lambda: client.chat.completions.create(
                model=bot["id"], messages=[{"role": "assistant", "content": "Hi"}]
            )
        ),
        "unknown path": _refusal(lambda: client.embeddings.create(model=bot["id"], input="x")),
        "key rate": _refusal(lambda: [limited_client.models.list(), limited_client.models.list()]),
    }
    async with plans_restored(core_db):
        await _set_free_cap(core_db, 0)
        refusals["quota"] = _refusal(ask)

    expected = {
        "bad key": (openai.AuthenticationError, "invalid_api_key"),
        "publishable key": (openai.PermissionDeniedError, "secret_key_required"),
        "other model": (openai.NotFoundError, "model_not_found"),
        "tools": (openai.BadRequestError, "unsupported_parameter"),
        "n": (openai.BadRequestError, "unsupported_parameter"),
        "temperature": (openai.BadRequestError, "invalid_request"),
        "no question": (openai.BadRequestError, "invalid_request"),
        "unknown path": (openai.NotFoundError, "not_found"),
        "key rate": (openai.RateLimitError, "rate_limit_exceeded"),
        "quota": (openai.RateLimitError, "insufficient_quota"),
    }
    assert {name: (type(e), e.code) for name, e in refusals.items()} == expected
    assert all(isinstance(e.body, dict) and e.body["message"] for e in refusals.values())
    assert "tools" in refusals["tools"].message
    assert refusals["temperature"].param == "temperature"
    assert refusals["quota"].response.headers["Retry-After"].isdigit()
    assert refusals["key rate"].response.headers["Retry-After"].isdigit()
    async with httpx.AsyncClient(base_url=core.base_url, timeout=30) as owners_client:
        listed = await owners_client.get(
            f"/api/v1/bots/{bot['id']}/conversations", headers=owner.headers
        )
    assert listed.json()["total"] == 0  # a refused request stores nothing, the quota's included


async def test_openais_shape_is_for_its_path_only(
    content_client: httpx.AsyncClient, content_app: FastAPI
) -> None:
    refused = await content_client.get("/api/v1/bots", headers={"Authorization": "Bearer x"})
    openai_refused = await content_client.get(
        "/api/v1/openai/models", headers={"Authorization": "Bearer x"}
    )

    assert refused.status_code == 401
    assert set(refused.json()) == {"error", "detail"}
    assert openai_refused.status_code == 401
    assert openai_refused.json()["error"]["type"] == "authentication_error"
    assert int(openai_refused.headers["content-length"]) == len(openai_refused.content)


async def test_an_agent_failure_mid_stream_is_an_error_the_sdk_raises(
    content_client: httpx.AsyncClient, content_app: FastAPI, agent: AgentHarness
) -> None:
    """In-process (the SDK's own client on an ASGI transport): the agent is switched off."""
    owner = await signup(content_client)
    bot = await create_bot(content_client, owner)
    key = await new_key(content_client, owner, bot["id"])
    client = openai.AsyncOpenAI(
        api_key=key["key"],
        base_url="http://core.test/api/v1/openai",
        max_retries=0,
        http_client=openai.DefaultAsyncHttpxClient(
            transport=httpx2.ASGITransport(app=content_app), base_url="http://core.test"
        ),
    )
    question: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Basalt?"}]
    agent.transport.available = False
    try:
        with pytest.raises(openai.InternalServerError) as at_once:
            await client.chat.completions.create(model=bot["id"], messages=question)
        stream = await client.chat.completions.create(
            model=bot["id"], messages=question, stream=True
        )
        with pytest.raises(openai.APIError) as streamed:
            _ = [chunk async for chunk in stream]
    finally:
        agent.transport.available = True

    assert at_once.value.code == "agent_unavailable"
    assert streamed.value.code == "agent_unavailable"


async def test_without_user_the_request_is_stored_as_the_anonymous_end_users(
    content_client: httpx.AsyncClient, content_app: FastAPI, core_settings: Settings
) -> None:
    """In-process: what is stored of a long history, text parts, and parameters sent as null."""
    owner = await signup(content_client)
    bot = await create_bot(content_client, owner)
    key = await new_key(content_client, owner, bot["id"])
    earlier = [
        {"role": "user" if turn % 2 == 0 else "assistant", "content": f"turn {turn}"}
        for turn in range(core_settings.chat_history_max_messages + 10)
    ]
    question = {"role": "user", "content": [{"type": "text", "text": "Basalt?"}]}
    answered = await content_client.post(
        "/api/v1/openai/chat/completions",
        json={"model": bot["id"], "messages": [*earlier, question], "max_tokens": None},
        headers={"Authorization": f"Bearer {key['key']}"},
    )
    listed = await content_client.get(
        f"/api/v1/bots/{bot['id']}/conversations", headers=owner.headers
    )
    conversation = listed.json()["items"][0]
    messages = await content_client.get(
        f"/api/v1/conversations/{conversation['id']}/messages",
        params={"limit": 100},
        headers=owner.headers,
    )

    assert answered.status_code == 200, answered.text
    assert answered.json()["conversation_id"] == conversation["id"]
    assert conversation["end_user_id"] == "anon_openai"
    stored = [m["content"] for m in messages.json()["items"]]
    kept = [m["content"] for m in earlier[-core_settings.chat_history_max_messages :]]
    assert stored[:-1] == [*kept, "Basalt?"]


async def test_every_openai_route_takes_a_secret_key_and_nothing_else(
    content_client: httpx.AsyncClient, content_app: FastAPI
) -> None:
    """Walks every operation under the path, read from the OpenAPI document."""
    owner = await signup(content_client)
    bot = await create_bot(content_client, owner)
    publishable = await new_key(
        content_client, owner, bot["id"], kind="publishable", allowed_origins=[SHOP]
    )
    operations = {
        (method.upper(), path.replace("{model}", bot["id"])): operation
        for path, methods in content_app.openapi()["paths"].items()
        if path.startswith("/api/v1/openai/")
        for method, operation in methods.items()
    }
    callers = {
        "nobody": {},
        "owner's access token": owner.headers,
        "publishable key": {"Authorization": f"Bearer {publishable['key']}", "Origin": SHOP},
    }
    answers = {}
    for (method, path), operation in operations.items():
        assert {name for need in operation["security"] for name in need} == {"BotKey"}
        for caller, headers in callers.items():
            answer = await content_client.request(method, path, json={}, headers=headers)
            answers[(method, path, caller)] = (answer.status_code, answer.json()["error"]["code"])

    assert len(operations) == 3
    refused = {
        "nobody": (401, "invalid_api_key"),
        "owner's access token": (401, "invalid_api_key"),
        "publishable key": (403, "secret_key_required"),
    }
    assert {k: a for k, a in answers.items() if a != refused[k[2]]} == {}
