"""The agent client at its HTTP boundary: auth, request id, timeouts, retries and errors."""

import json

import httpx
import pytest
import structlog
from pydantic import SecretStr
from pytest_httpx import HTTPXMock

from chatsphere_contracts.v1 import ChatRequest, DeleteRequest, IndexChunk, UpsertRequest
from core_service.agent_client.client import AgentClient, create_agent_http_client
from core_service.agent_client.exceptions import AgentRejected, AgentUnavailable
from core_service.config import Environment, Settings

AGENT = "http://agent.test"
UPSERT = UpsertRequest(
    namespace="bot-1", chunks=[IndexChunk(id="c1", document_id="d1", text="hello")]
)


@pytest.fixture
async def agent() -> AgentClient:
    settings = Settings(
        environment=Environment.TEST,
        agent_url=AGENT,
        agent_api_key=SecretStr("a-test-service-key"),
        agent_connect_timeout_s=1.5,
        agent_read_timeout_s=45,
    )
    return AgentClient(create_agent_http_client(settings), retry_attempts=3)


async def test_calls_carry_the_service_key_and_the_request_id(
    agent: AgentClient, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(url=f"{AGENT}/v1/index/upsert", json={"upserted": 1})
    structlog.contextvars.bind_contextvars(request_id="req-123")
    try:
        answer = await agent.upsert(UPSERT)
    finally:
        structlog.contextvars.clear_contextvars()

    request = httpx_mock.get_requests()[0]
    assert answer.upserted == 1
    assert request.headers["Authorization"] == "Bearer a-test-service-key"
    assert request.headers["X-Request-ID"] == "req-123"
    assert json.loads(request.content)["chunks"][0]["id"] == "c1"
    timeout = request.extensions["timeout"]
    assert (timeout["connect"], timeout["read"]) == (1.5, 45)


async def test_idempotent_calls_are_retried_after_a_5xx(
    agent: AgentClient, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(url=f"{AGENT}/v1/index/delete", status_code=503)
    httpx_mock.add_exception(httpx.ConnectError("refused"), url=f"{AGENT}/v1/index/delete")
    httpx_mock.add_response(url=f"{AGENT}/v1/index/delete", json={"deleted": 4})

    answer = await agent.delete(DeleteRequest(namespace="bot-1", document_id="d1"))

    assert answer.deleted == 4
    assert len(httpx_mock.get_requests()) == 3


async def test_retries_end_in_agent_unavailable(agent: AgentClient, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_exception(
        httpx.ConnectError("refused"), url=f"{AGENT}/v1/index/upsert", is_reusable=True
    )

    with pytest.raises(AgentUnavailable):
        await agent.upsert(UPSERT)

    assert len(httpx_mock.get_requests()) == 3


async def test_chat_is_not_retried(agent: AgentClient, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=f"{AGENT}/v1/chat", status_code=502)

    with pytest.raises(AgentUnavailable):
        await agent.chat(ChatRequest(namespace="bot-1", message="hi"))

    assert len(httpx_mock.get_requests()) == 1


async def test_a_4xx_is_a_rejection_and_not_retried(
    agent: AgentClient, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(
        url=f"{AGENT}/v1/index/upsert", status_code=422, json={"error": "x", "detail": "y"}
    )

    with pytest.raises(AgentRejected):
        await agent.upsert(UPSERT)

    assert len(httpx_mock.get_requests()) == 1


async def test_stream_events_are_parsed_as_they_come(
    agent: AgentClient, httpx_mock: HTTPXMock
) -> None:
    body = (
        'event: token\ndata: {"delta": "Hel"}\n\n'
        'event: token\ndata: {"delta": "lo"}\n\n'
        'event: done\ndata: {"usage": {"input_tokens": 3, "output_tokens": 2}, "model": "m"}\n\n'
    )
    httpx_mock.add_response(
        url=f"{AGENT}/v1/chat/stream", text=body, headers={"content-type": "text/event-stream"}
    )

    async with agent.chat_stream(ChatRequest(namespace="bot-1", message="hi")) as events:
        received = [(event.event, json.loads(event.data)) async for event in events]

    assert [name for name, _ in received] == ["token", "token", "done"]
    assert received[1][1] == {"delta": "lo"}


async def test_a_stream_that_cannot_start_is_agent_unavailable(
    agent: AgentClient, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_exception(httpx.ReadTimeout("slow"), url=f"{AGENT}/v1/chat/stream")

    with pytest.raises(AgentUnavailable):
        async with agent.chat_stream(ChatRequest(namespace="bot-1", message="hi")):
            pass
