"""SIGTERM to a real agent process in the middle of a slow streamed answer: the answer finishes.

The agent runs as its image runs it (uvicorn with --timeout-graceful-shutdown) and answers with
the OpenAI-compatible provider; the model server is a loopback stub that streams slowly.
"""

import asyncio
import json
import time
import uuid
from typing import Any

import httpx
import pytest

from agent_service.config import DEVELOPMENT_API_KEY
from testsupport.service_process import (
    exited_after_sigterm,
    first_event_index,
    log_events,
    port_is_closed,
    running_uvicorn,
)
from testsupport.stub_openai import running_slow_chat_server

pytestmark = pytest.mark.slow

TOKENS = [f"part{i} " for i in range(8)]
TOKEN_INTERVAL_S = 0.25


def _events(lines: list[str]) -> list[tuple[str, dict[str, Any]]]:
    events, name = [], ""
    for line in lines:
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: "):
            events.append((name, json.loads(line.removeprefix("data: "))))
    return events


async def _wait_closed(port: int, timeout_s: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if port_is_closed(port):
            return True
        await asyncio.sleep(0.05)
    return False


async def test_sigterm_mid_stream_lets_the_answer_finish(agent_database_url: str) -> None:
    with running_slow_chat_server(tokens=TOKENS, token_interval_s=TOKEN_INTERVAL_S) as model:
        env = {
            "AGENT_ENVIRONMENT": "test",
            "AGENT_DATABASE_URL": agent_database_url,
            "AGENT_CHAT_PROVIDER": "openai",
            "AGENT_OPENAI_BASE_URL": model.base_url,
        }
        with running_uvicorn("agent_service.main:create_app", env) as agent:
            lines: list[str] = []
            signalled_at = None
            headers = {"Authorization": f"Bearer {DEVELOPMENT_API_KEY}"}
            namespace = f"bot-{uuid.uuid4()}"
            request = {"namespace": namespace, "message": "What is new?"}
            news = {"id": "news", "document_id": "news", "text": "What is new: faster exports."}
            async with httpx.AsyncClient(base_url=agent.base_url, timeout=30) as client:
                indexed = await client.post(
                    "/v1/index/upsert",
                    json={"namespace": namespace, "chunks": [news]},
                    headers=headers,
                )
                assert indexed.status_code == 200, indexed.text
            async with (
                httpx.AsyncClient(base_url=agent.base_url, timeout=30) as client,
                client.stream("POST", "/v1/chat/stream", json=request, headers=headers) as answer,
            ):
                assert answer.status_code == 200, await answer.aread()
                async for line in answer.aiter_lines():
                    lines.append(line)
                    if signalled_at is None and line == "event: token":
                        agent.terminate()
                        signalled_at = time.monotonic()
                        assert await _wait_closed(agent.port), "still accepting after SIGTERM"
            finished_at = time.monotonic()
            assert exited_after_sigterm(await asyncio.to_thread(agent.wait, 25))
            output = agent.output()
    events = _events(lines)
    assert "".join(data["delta"] for name, data in events if name == "token") == "".join(TOKENS)
    assert [name for name, _ in events][-2:] == ["citations", "done"]
    assert signalled_at is not None
    assert finished_at - signalled_at >= (len(TOKENS) - 2) * TOKEN_INTERVAL_S
    log = log_events(output)
    assert first_event_index(log, path="/v1/chat/stream") < first_event_index(
        log, event="agent_stopped"
    )
