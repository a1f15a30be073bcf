"""MCP at ``/mcp`` on a real agent process, through the official ``mcp`` client over a socket."""

import hashlib
import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from testsupport.service_process import ServiceProcess, running_uvicorn

pytestmark = pytest.mark.slow

TEAM_KEY = "team-a-service-key-for-tests"
MAX_QUERY_CHARS = 60
PASSAGE = "The lighthouse keeper feeds the cormorants every Tuesday at dawn."


@pytest.fixture(scope="module")
def agent(agent_database_url: str) -> Iterator[ServiceProcess]:
    """An agent whose only key may use namespaces under ``team-a``."""
    digest = hashlib.sha256(TEAM_KEY.encode()).hexdigest()
    keys = [{"name": "team-a", "sha256": digest, "namespace_prefixes": ["team-a"]}]
    env = {
        "AGENT_ENVIRONMENT": "test",
        "AGENT_DATABASE_URL": agent_database_url,
        "AGENT_API_KEYS": json.dumps(keys),
        "AGENT_MAX_QUERY_CHARS": str(MAX_QUERY_CHARS),
    }
    with running_uvicorn("agent_service.main:create_app", env) as service:
        yield service


@pytest.fixture(scope="module")
def team_namespace(agent: ServiceProcess) -> str:
    """A ``team-a`` namespace holding one passage, indexed over ``/v1``."""
    name = f"team-a-{uuid.uuid4().hex[:8]}"
    chunk = {"id": "c1", "document_id": "d1", "text": PASSAGE}
    response = httpx.post(
        f"{agent.base_url}/v1/index/upsert",
        json={"namespace": name, "chunks": [chunk]},
        headers={"Authorization": f"Bearer {TEAM_KEY}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return name


_LIST_TOOLS = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
_MCP_HEADERS = {"Accept": "application/json, text/event-stream"}


def _client(agent: ServiceProcess, key: str = TEAM_KEY) -> Client:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=30)
    return Client(streamable_http_client(f"{agent.base_url}/mcp", http_client=http))


async def test_lists_the_retrieve_and_chat_tools_with_typed_schemas(agent: ServiceProcess) -> None:
    async with _client(agent) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(tools) == {"retrieve", "chat"}
    retrieve = tools["retrieve"].input_schema
    assert retrieve["required"] == ["namespace", "query"]
    assert retrieve["properties"]["top_k"]["maximum"] == 50
    assert tools["chat"].output_schema is not None
    assert set(tools["chat"].output_schema["properties"]) == {"answer", "citations", "answered"}


async def test_retrieve_in_an_allowed_namespace_finds_the_passage(
    agent: ServiceProcess, team_namespace: str
) -> None:
    async with _client(agent) as client:
        result = await client.call_tool(
            "retrieve",
            {"namespace": team_namespace, "query": "who feeds the cormorants?", "top_k": 3},
        )
    assert not result.is_error, result.content
    matches: list[dict[str, Any]] = (result.structured_content or {})["matches"]
    assert [(m["chunk_id"], m["document_id"], m["text"]) for m in matches] == [
        ("c1", "d1", PASSAGE)
    ]
    assert 0.0 < matches[0]["score"] <= 1.0


async def test_chat_answers_from_the_namespace_and_cites_it(
    agent: ServiceProcess, team_namespace: str
) -> None:
    async with _client(agent) as client:
        result = await client.call_tool(
            "chat", {"namespace": team_namespace, "message": "When are the cormorants fed?"}
        )
    assert not result.is_error, result.content
    reply = result.structured_content or {}
    assert reply["answered"] is True
    assert "Tuesday" in reply["answer"]
    assert [citation["chunk_id"] for citation in reply["citations"]] == ["c1"]


@pytest.mark.parametrize("tool", ["retrieve", "chat"])
async def test_a_namespace_outside_the_keys_prefixes_is_a_tool_error(
    agent: ServiceProcess, tool: str
) -> None:
    text = {"retrieve": "query", "chat": "message"}[tool]
    async with _client(agent) as client:
        result = await client.call_tool(tool, {"namespace": "team-b", text: "cormorants"})
    assert result.is_error
    message = " ".join(getattr(part, "text", "") for part in result.content)
    assert "Forbidden" in message
    assert "team-b" in message


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"query": "cormorants", "top_k": 51}, "top_k"),
        ({"query": "c" * (MAX_QUERY_CHARS + 1)}, "LimitExceeded"),
    ],
)
async def test_the_v1_limits_hold_as_tool_errors(
    agent: ServiceProcess, arguments: dict[str, Any], expected: str
) -> None:
    async with _client(agent) as client:
        result = await client.call_tool("retrieve", {"namespace": "team-a", **arguments})
    assert result.is_error
    assert expected in " ".join(getattr(part, "text", "") for part in result.content)


def test_a_deployed_host_name_is_served(agent: ServiceProcess) -> None:
    """Behind a compose network or an ingress the Host is a service name, not loopback."""
    response = httpx.post(
        f"{agent.base_url}/mcp",
        json=_LIST_TOOLS,
        headers={**_MCP_HEADERS, "Host": "agent:8000", "Authorization": f"Bearer {TEAM_KEY}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    assert {tool["name"] for tool in response.json()["result"]["tools"]} == {"retrieve", "chat"}


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer not-a-key"}])
def test_without_a_valid_key_mcp_answers_401(
    agent: ServiceProcess, headers: dict[str, str]
) -> None:
    headers = {**headers, **_MCP_HEADERS}
    response = httpx.post(f"{agent.base_url}/mcp", json=_LIST_TOOLS, headers=headers, timeout=10)
    assert response.status_code == 401
    assert response.json()["error"] == "Unauthorized"
    assert response.headers["WWW-Authenticate"] == "Bearer"
