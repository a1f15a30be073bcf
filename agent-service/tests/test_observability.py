"""/metrics after real traffic, and traces exported to an OTLP collector when one is configured."""

import json
import uuid

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from agent_service.config import DEVELOPMENT_API_KEY, ChatProviderKind, Settings
from agent_service.main import create_app
from testsupport.asgi import started_client
from testsupport.otlp_collector import running_otlp_collector
from testsupport.stub_openai import running_slow_chat_server

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


async def test_metrics_declare_every_named_series(agent_client: httpx.AsyncClient) -> None:
    text = (await agent_client.get("/metrics")).text
    assert {family.name for family in text_string_to_metric_families(text)} >= NAMED_SERIES
    schema = (await agent_client.get("/openapi.json")).json()
    assert "/metrics" not in schema["paths"]


async def test_provider_metrics_after_indexing_and_a_streamed_chat(
    agent_settings: Settings,
) -> None:
    with running_slow_chat_server(tokens=["one ", "two ", "three"], token_interval_s=0) as model:
        settings = agent_settings.model_copy(
            update={"chat_provider": ChatProviderKind.OPENAI, "openai_base_url": model.base_url}
        )
        app = create_app(settings)
        headers = {"Authorization": f"Bearer {DEVELOPMENT_API_KEY}"}
        async with started_client(app, base_url="http://agent", headers=headers) as client:
            before = _samples((await client.get("/metrics")).text)
            namespace = f"bot-{uuid.uuid4()}"
            chunk = {"id": str(uuid.uuid4()), "document_id": str(uuid.uuid4()), "text": "Tea"}
            upserted = await client.post(
                "/v1/index/upsert", json={"namespace": namespace, "chunks": [chunk]}
            )
            assert upserted.status_code == 200, upserted.text
            chat = {"namespace": namespace, "message": "What about tea?"}
            streamed = await client.post("/v1/chat/stream", json=chat)
            assert streamed.status_code == 200, streamed.text
            after = _samples((await client.get("/metrics")).text)

    def delta(name: str, **labels: str) -> float:
        key = (name, frozenset(labels.items()))
        return after.get(key, 0.0) - before.get(key, 0.0)

    # One embedding for the indexed passage, one for the chat's query.
    assert delta("chatsphere_agent_embedding_duration_seconds_count", provider="static") == 2
    assert delta("chatsphere_agent_llm_duration_seconds_count", provider="openai") == 1
    # The model server reported 11 prompt tokens and one completion token per piece.
    assert delta("chatsphere_agent_llm_tokens_total", provider="openai", direction="input") == 11
    assert delta("chatsphere_agent_llm_tokens_total", provider="openai", direction="output") == 3


async def test_traces_follow_the_callers_traceparent_and_reach_the_collector(
    agent_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    with running_otlp_collector() as collector:
        settings = agent_settings.model_copy(
            update={"otel_exporter_otlp_endpoint": collector.endpoint}
        )
        app = create_app(settings)
        async with started_client(app, base_url="http://agent") as client:
            headers = {"traceparent": INCOMING_TRACEPARENT}
            assert (await client.get("/openapi.json", headers=headers)).status_code == 200
        spans = [span for span in collector.spans if span.trace_id == TRACE_ID]
    assert {span.service for span in spans} == {"agent-service"}
    assert any(span.parent_span_id == "b7ad6b7169203331" for span in spans)
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    logged = [x for x in lines if x.get("event") == "request" and x["path"] == "/openapi.json"]
    assert logged[-1]["trace_id"] == TRACE_ID
