"""One trace across both services: core and agent run as real processes exporting to a collector.

A chat message sent with a ``traceparent`` produces spans in core and in the agent under the
caller's trace id, the agent's server span a child of core's outgoing httpx span, and the log
lines of both services carry that trace id.
"""

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest

from core_service.migrate import upgrade_to_head_async
from testsupport.core_content import create_bot
from testsupport.core_users import signup
from testsupport.otlp_collector import running_otlp_collector
from testsupport.postgres import PostgresServer
from testsupport.service_process import exited_after_sigterm, running_uvicorn

pytestmark = pytest.mark.slow

TRACE_ID = "5b8efff798038103d269b633813fc60c"
CALLER_SPAN_ID = "eee19b7ec3c1b174"


@pytest.fixture
async def databases(postgres_server: PostgresServer) -> AsyncIterator[tuple[str, str]]:
    """A migrated core database and an agent database, dropped afterwards."""
    core_name = await postgres_server.create_database("core_tracing")
    agent_name = await postgres_server.create_database("agent_tracing")
    core_url = postgres_server.url_for(core_name, driver="postgresql+asyncpg")
    await upgrade_to_head_async(core_url)
    yield core_url, postgres_server.url_for(agent_name)
    for name in (core_name, agent_name):
        await postgres_server.drop_database(name)


async def _send_traced_message(core_url: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=core_url, timeout=30) as client:
        user = await signup(client)
        bot = await create_bot(client, user)
        created = await client.post(f"/api/v1/bots/{bot['id']}/conversations", headers=user.headers)
        headers = user.headers | {"traceparent": f"00-{TRACE_ID}-{CALLER_SPAN_ID}-01"}
        return await client.post(
            f"/api/v1/conversations/{created.json()['id']}/messages",
            json={"content": "What does the handbook say?"},
            headers=headers,
        )


def _traced_log_lines(output: str) -> list[dict[str, object]]:
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("trace_id") == TRACE_ID]


async def test_a_chat_is_one_trace_across_core_and_agent(databases: tuple[str, str]) -> None:
    core_database_url, agent_database_url = databases
    with running_otlp_collector() as collector:
        agent_env = {
            "AGENT_ENVIRONMENT": "test",
            "AGENT_DATABASE_URL": agent_database_url,
            "AGENT_OTEL_EXPORTER_OTLP_ENDPOINT": collector.endpoint,
        }
        with running_uvicorn("agent_service.main:create_app", agent_env) as agent:
            core_env = {
                "CORE_ENVIRONMENT": "test",
                "CORE_DATABASE_URL": core_database_url,
                "CORE_AGENT_URL": agent.base_url,
                "CORE_OTEL_EXPORTER_OTLP_ENDPOINT": collector.endpoint,
                "CORE_ARGON2_MEMORY_KIB": "1024",
                "CORE_ARGON2_TIME_COST": "1",
                "CORE_ARGON2_PARALLELISM": "1",
            }
            with running_uvicorn("core_service.main:create_app", core_env) as core:
                answer = await _send_traced_message(core.base_url)
                assert answer.status_code == 200, answer.text
                # Stopping flushes the batched spans to the collector.
                for service in (core, agent):
                    service.terminate()
                    assert exited_after_sigterm(await asyncio.to_thread(service.wait, 25))
                core_log, agent_log = core.output(), agent.output()
        spans = [span for span in collector.spans if span.trace_id == TRACE_ID]

    core_spans = {span.span_id: span for span in spans if span.service == "core-service"}
    agent_spans = [span for span in spans if span.service == "agent-service"]
    assert core_spans
    assert agent_spans
    assert any(span.parent_span_id == CALLER_SPAN_ID for span in core_spans.values())
    # The agent's request span hangs under core's outgoing call: the traceparent crossed.
    assert any(span.parent_span_id in core_spans for span in agent_spans)
    assert _traced_log_lines(core_log)
    assert _traced_log_lines(agent_log)
