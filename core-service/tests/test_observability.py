"""/metrics after real traffic, and traces exported to an OTLP collector when one is configured."""

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from core_service.config import Settings
from core_service.main import create_app
from testsupport.asgi import started_client
from testsupport.core_content import create_bot
from testsupport.core_users import signup
from testsupport.otlp_collector import running_otlp_collector
from testsupport.stub_agent import running_slow_agent

NAMED_SERIES = {
    "chatsphere_core_http_requests",
    "chatsphere_core_http_request_duration_seconds",
    "chatsphere_core_agent_call_duration_seconds",
    "chatsphere_core_ingestion_jobs",
    "chatsphere_core_job_queue_depth",
}
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
INCOMING_TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"

StartClient = Callable[..., Awaitable[httpx.AsyncClient]]


@pytest.fixture
async def client_for(core_settings: Settings) -> AsyncIterator[StartClient]:
    """Starts a core app with extra settings and gives an in-process client for it."""
    async with AsyncExitStack() as stack:

        async def start(**overrides: object) -> httpx.AsyncClient:
            app = create_app(core_settings.model_copy(update=overrides))
            return await stack.enter_async_context(started_client(app, base_url="http://core"))

        yield start


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_metrics_count_requests_by_route_template_and_status(
    core_client: httpx.AsyncClient,
) -> None:
    before = _samples((await core_client.get("/metrics")).text)
    await core_client.get("/healthz")
    await core_client.get("/healthz")
    await core_client.get("/no/such/page/12345")
    await core_client.post("/api/v1/anything", content=b"x" * 3_000_000)
    answer = await core_client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    after = _samples(answer.text)

    def delta(route: str, status: str, method: str = "GET") -> float:
        key = (
            "chatsphere_core_http_requests_total",
            frozenset({("method", method), ("route", route), ("status", status)}),
        )
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert delta("/healthz", "200") == 2
    # Unknown paths share one label: a scanner cannot create a series per path.
    assert delta("unmatched", "404") == 1
    assert delta("unmatched", "413", method="POST") == 1
    assert not any("12345" in dict(labels).get("route", "") for _, labels in after)
    count_key = (
        "chatsphere_core_http_request_duration_seconds_count",
        frozenset({("method", "GET"), ("route", "/healthz")}),
    )
    assert after[count_key] - before.get(count_key, 0.0) == 2


async def test_metrics_label_routes_with_the_full_template_including_api_v1(
    core_client: httpx.AsyncClient,
) -> None:
    before = _samples((await core_client.get("/metrics")).text)
    await core_client.get("/api/v1/bots")
    await core_client.get("/api/v1/bots/7c8b9a3e-0000-4000-8000-000000000000/documents")
    after = _samples((await core_client.get("/metrics")).text)

    def delta(route: str) -> float:
        key = (
            "chatsphere_core_http_requests_total",
            frozenset({("method", "GET"), ("route", route), ("status", "401")}),
        )
        return after.get(key, 0.0) - before.get(key, 0.0)

    # The README promises the templates as clients call them, prefix included.
    assert delta("/api/v1/bots") == 1
    assert delta("/api/v1/bots/{bot_id}/documents") == 1
    assert not any(dict(labels).get("route") == "/bots" for _, labels in after)


async def test_metrics_declare_every_named_series(core_client: httpx.AsyncClient) -> None:
    families = {
        f.name for f in text_string_to_metric_families((await core_client.get("/metrics")).text)
    }
    assert families >= NAMED_SERIES
    schema = (await core_client.get("/openapi.json")).json()
    assert "/metrics" not in schema["paths"]


async def test_queue_depth_counts_waiting_jobs_at_scrape_time(
    core_client: httpx.AsyncClient, core_db: AsyncEngine
) -> None:
    async with core_db.begin() as connection:
        for kind, state in [
            ("index_document", "pending"),
            ("index_document", "pending"),
            ("index_document", "running"),
            ("index_document", "failed"),
            ("delete_vectors", "pending"),
        ]:
            await connection.execute(
                text(
                    "INSERT INTO jobs (id, kind, state, bot_id, owner_id, payload, attempts) "
                    "VALUES (gen_random_uuid(), :kind, :state, gen_random_uuid(), "
                    "gen_random_uuid(), '{}', 0)"
                ),
                {"kind": kind, "state": state},
            )
    samples = _samples((await core_client.get("/metrics")).text)

    def depth(kind: str) -> float:
        return samples[("chatsphere_core_job_queue_depth", frozenset({("kind", kind)}))]

    assert depth("index_document") == 2
    assert depth("delete_vectors") == 1


async def _chat(client: httpx.AsyncClient, *, stream: bool = False) -> httpx.Response:
    user = await signup(client)
    bot = await create_bot(client, user)
    created = await client.post(f"/api/v1/bots/{bot['id']}/conversations", headers=user.headers)
    messages = f"/api/v1/conversations/{created.json()['id']}/messages"
    if stream:
        messages += "/stream"
    return await client.post(messages, json={"content": "hi"}, headers=user.headers)


async def test_agent_calls_are_timed_by_endpoint_and_outcome(
    client_for: StartClient, core_db: AsyncEngine
) -> None:
    with running_slow_agent(tokens=["Hello ", "there"]) as agent:
        client = await client_for(agent_url=agent.url)
        before = _samples((await client.get("/metrics")).text)
        assert (await _chat(client)).status_code == 200
        assert "event: done" in (await _chat(client, stream=True)).text
    down = await client_for(agent_url="http://127.0.0.1:9")
    assert (await _chat(down)).status_code == 503
    after = _samples((await client.get("/metrics")).text)

    def calls(outcome: str, endpoint: str = "/v1/chat") -> float:
        key = (
            "chatsphere_core_agent_call_duration_seconds_count",
            frozenset({("endpoint", endpoint), ("outcome", outcome)}),
        )
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert calls("ok") == 1
    assert calls("ok", endpoint="/v1/chat/stream") == 1
    assert calls("unavailable") == 1


async def test_a_scrape_survives_an_unreachable_database(client_for: StartClient) -> None:
    client = await client_for(database_url="postgresql+asyncpg://nobody@127.0.0.1:9/nothing")
    answer = await client.get("/metrics")
    assert answer.status_code == 200
    assert "chatsphere_core_http_requests_total" in answer.text


async def test_metrics_can_be_switched_off(client_for: StartClient) -> None:
    client = await client_for(metrics_enabled=False)
    assert (await client.get("/metrics")).status_code == 404


async def test_no_tracing_without_an_exporter(
    client_for: StartClient, capsys: pytest.CaptureFixture[str]
) -> None:
    client = await client_for()
    await client.get("/healthz", headers={"traceparent": INCOMING_TRACEPARENT})
    lines = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")
    ]
    requests = [line for line in lines if line.get("event") == "request"]
    assert requests
    assert not any("trace_id" in line for line in requests)


async def test_traces_follow_the_callers_traceparent_and_reach_the_collector(
    core_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    with running_otlp_collector() as collector:
        app = create_app(
            core_settings.model_copy(update={"otel_exporter_otlp_endpoint": collector.endpoint})
        )
        async with started_client(app, base_url="http://core") as client:
            answer = await client.get(
                "/openapi.json", headers={"traceparent": INCOMING_TRACEPARENT}
            )
            assert answer.status_code == 200
        # Leaving the lifespan shut the tracer provider down, which flushed the batch.
        spans = [span for span in collector.spans if span.trace_id == TRACE_ID]
    assert spans, collector.spans
    assert {span.service for span in spans} == {"core-service"}
    assert any(span.parent_span_id == "00f067aa0ba902b7" for span in spans)
    lines = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")
    ]
    logged = [
        line
        for line in lines
        if line.get("event") == "request" and line.get("path") == "/openapi.json"
    ]
    assert logged
    assert logged[-1]["trace_id"] == TRACE_ID
    assert logged[-1]["request_id"]
