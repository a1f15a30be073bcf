"""The agent client at its HTTP boundary: auth, request id, timeouts, retries and errors.

Most tests fake the agent with pytest-httpx, which stands in for httpx's own transport; the
last ones run the client as deployed (over aiohttp) against a loopback stub of the agent.
"""

import json
import socket
import time
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
import structlog
from pydantic import SecretStr
from pytest_httpx import HTTPXMock

from chatsphere_contracts.v1 import ChatRequest, DeleteRequest, IndexChunk, UpsertRequest
from core_service.agent_client.client import AgentClient, create_agent_client
from core_service.agent_client.exceptions import AgentRejected, AgentUnavailable
from core_service.config import Environment, Settings
from testsupport.stub_agent import running_slow_agent

AGENT = "http://agent.test"
UPSERT = UpsertRequest(
    namespace="bot-1", chunks=[IndexChunk(id="c1", document_id="d1", text="hello")]
)


def _settings(agent_url: str = AGENT, *, read_timeout_s: float = 45) -> Settings:
    return Settings(
        environment=Environment.TEST,
        agent_url=agent_url,
        agent_api_key=SecretStr("a-test-service-key"),
        agent_connect_timeout_s=1.5,
        agent_read_timeout_s=read_timeout_s,
    )


@pytest.fixture
async def agent() -> AsyncIterator[AgentClient]:
    client = create_agent_client(
        _settings(), transport=httpx.AsyncHTTPTransport(), retry_attempts=3
    )
    yield client
    await client.aclose()


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


@pytest.fixture
async def deployed_client() -> AsyncIterator[Callable[..., AgentClient]]:
    """Agent clients as deployed (default transport), closed at the end."""
    opened: list[AgentClient] = []

    def make(agent_url: str, *, read_timeout_s: float = 45) -> AgentClient:
        settings = _settings(agent_url, read_timeout_s=read_timeout_s)
        opened.append(create_agent_client(settings, retry_attempts=1))
        return opened[-1]

    yield make
    for client in opened:
        await client.aclose()


async def test_the_deployed_transport_answers_a_chat_with_the_service_key(
    deployed_client: Callable[..., AgentClient],
) -> None:
    with running_slow_agent(tokens=["Hello ", "there"]) as stub:
        agent = deployed_client(stub.url)
        answers = [await agent.chat(ChatRequest(namespace="bot-1", message="hi")) for _ in range(3)]
    assert [answer.answer for answer in answers] == ["Hello there"] * 3
    assert answers[0].model == "slow-stub"


async def test_the_deployed_transport_streams_events_as_they_are_sent(
    deployed_client: Callable[..., AgentClient],
) -> None:
    with running_slow_agent(tokens=["a", "b", "c", "d"], token_interval_s=0.2) as stub:
        agent = deployed_client(stub.url)
        started = time.perf_counter()
        arrivals: list[tuple[str, float]] = []
        async with agent.chat_stream(ChatRequest(namespace="bot-1", message="hi")) as events:
            async for event in events:
                arrivals.append((event.event, time.perf_counter() - started))
    assert [name for name, _ in arrivals] == ["token"] * 4 + ["citations", "done"]
    # The stub sleeps 0.2 s after each token: a buffered stream would deliver all at the end.
    assert arrivals[0][1] < 0.5 < arrivals[-1][1]


async def test_the_deployed_transport_turns_a_refused_connection_into_agent_unavailable(
    deployed_client: Callable[..., AgentClient],
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    agent = deployed_client(f"http://127.0.0.1:{closed_port}")
    with pytest.raises(AgentUnavailable):
        await agent.chat(ChatRequest(namespace="bot-1", message="hi"))
    with pytest.raises(AgentUnavailable):
        async with agent.chat_stream(ChatRequest(namespace="bot-1", message="hi")):
            pass


async def test_the_deployed_transport_keeps_the_read_timeout(
    deployed_client: Callable[..., AgentClient],
) -> None:
    with running_slow_agent(tokens=["x"], upsert_delay_s=1.5) as stub:
        agent = deployed_client(stub.url, read_timeout_s=0.3)
        started = time.perf_counter()
        with pytest.raises(AgentUnavailable):
            await agent.upsert(UPSERT)
        assert time.perf_counter() - started < 1.2
