"""/metrics after real traffic, and traces exported to an OTLP collector when one is configured."""

import json

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from agent_service.config import Settings
from agent_service.main import create_app
from testsupport.otlp_collector import running_otlp_collector

NAMED_SERIES = {
    "chatsphere_agent_http_requests",
    "chatsphere_agent_http_request_duration_seconds",
    "chatsphere_agent_embedding_duration_seconds",
    "chatsphere_agent_llm_duration_seconds",
    "chatsphere_agent_llm_tokens",
}
TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
INCOMING_TRACEPARENT = f"00-{TRACE_ID}-b7ad6b7169203331-01"


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_metrics_count_requests_by_route_template_and_status(
    agent_client: httpx.AsyncClient,
) -> None:
    before = _samples((await agent_client.get("/metrics")).text)
    await agent_client.get("/healthz")
    await agent_client.get("/no/such/page/12345")
    after = _samples((await agent_client.get("/metrics")).text)

    def delta(route: str, status: str) -> float:
        key = (
            "chatsphere_agent_http_requests_total",
            frozenset({("method", "GET"), ("route", route), ("status", status)}),
        )
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert delta("/healthz", "200") == 1
    assert delta("unmatched", "404") == 1
    count_key = (
        "chatsphere_agent_http_request_duration_seconds_count",
        frozenset({("method", "GET"), ("route", "/healthz")}),
    )
    assert after[count_key] - before.get(count_key, 0.0) == 1


async def test_metrics_declare_every_named_series(agent_client: httpx.AsyncClient) -> None:
    text = (await agent_client.get("/metrics")).text
    assert {family.name for family in text_string_to_metric_families(text)} >= NAMED_SERIES
    schema = (await agent_client.get("/openapi.json")).json()
    assert "/metrics" not in schema["paths"]


async def test_traces_follow_the_callers_traceparent_and_reach_the_collector(
    agent_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    with running_otlp_collector() as collector:
        settings = agent_settings.model_copy(
            update={"otel_exporter_otlp_endpoint": collector.endpoint}
        )
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://agent") as client:
                headers = {"traceparent": INCOMING_TRACEPARENT}
                assert (await client.get("/openapi.json", headers=headers)).status_code == 200
        spans = [span for span in collector.spans if span.trace_id == TRACE_ID]
    assert {span.service for span in spans} == {"agent-service"}
    assert any(span.parent_span_id == "b7ad6b7169203331" for span in spans)
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    logged = [x for x in lines if x.get("event") == "request" and x["path"] == "/openapi.json"]
    assert logged[-1]["trace_id"] == TRACE_ID
