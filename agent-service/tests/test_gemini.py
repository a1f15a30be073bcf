"""Gemini embeddings and chat through their real REST wire format (pytest-httpx at the boundary)."""

import asyncio
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pytest_httpx import HTTPXMock

from agent_service.gemini_transport import gemini_client_args
from agent_service.ingestion.embedders import HashEmbedder
from chatsphere_contracts import v1

API = "https://generativelanguage.googleapis.com/v1beta/models"
EMBED_URL = f"{API}/gemini-embedding-001:batchEmbedContents"
GENERATE_URL = f"{API}/gemini-2.5-flash:generateContent"
STREAM_URL = re.compile(re.escape(f"{API}/gemini-2.5-flash:streamGenerateContent") + r"\?alt=sse")
GEMINI = {"embedder": "gemini", "google_api_key": "test-google-key", "provider_retry_backoff_s": 0}
GEMINI_CHAT = {"chat_provider": "gemini", "google_api_key": "test-google-key"}
# A stand-in for the model: lexical vectors keep retrieval meaningful in these tests.
FAKE_MODEL = HashEmbedder(768)


def batch_embed(request: httpx.Request) -> httpx.Response:
    """Answer ``batchEmbedContents`` the way Gemini does: one embedding per request entry."""
    assert request.headers["x-goog-api-key"] == "test-google-key"
    entries = json.loads(request.content)["requests"]
    assert 1 <= len(entries) <= 100
    texts = [entry["content"]["parts"][0]["text"] for entry in entries]
    vectors = FAKE_MODEL.embed_sync(texts) * 3.0  # Gemini's reduced outputs are not unit length
    return httpx.Response(200, json={"embeddings": [{"values": v.tolist()} for v in vectors]})


def requests_to(httpx_mock: HTTPXMock, url: str | re.Pattern[str]) -> list[dict[str, Any]]:
    return [json.loads(r.content) for r in httpx_mock.get_requests(url=url)]


async def test_embeddings_are_batched_by_100_with_the_documented_fields(
    client_with: Any, httpx_mock: HTTPXMock, auth: dict[str, str]
) -> None:
    httpx_mock.add_callback(batch_embed, url=EMBED_URL, is_reusable=True)
    texts = [f"passage number {n}" for n in range(250)]
    async with client_with(**GEMINI) as client:
        response = await client.post("/v1/embeddings", json={"texts": texts}, headers=auth)
    body = v1.EmbeddingsResponse.model_validate(response.json())
    assert (body.model, body.dimensions, len(body.vectors)) == ("gemini-embedding-001", 768, 250)
    assert abs(sum(x * x for x in body.vectors[0]) - 1.0) < 1e-4
    sent = requests_to(httpx_mock, EMBED_URL)
    assert sorted(len(request["requests"]) for request in sent) == [50, 100, 100]
    first = sent[0]["requests"][0]
    assert first["model"] == "models/gemini-embedding-001"
    assert first["taskType"] == "RETRIEVAL_DOCUMENT"
    assert first["outputDimensionality"] == 768


class SlowBatches:
    """Answers each embedding batch after 50 ms and keeps the most batches in flight at once."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.most = 0

    async def answer(self, request: httpx.Request) -> httpx.Response:
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        await asyncio.sleep(0.05)
        self.in_flight -= 1
        return batch_embed(request)


async def test_a_large_request_sends_its_batches_together_within_the_bound(
    client_with: Any, httpx_mock: HTTPXMock, auth: dict[str, str]
) -> None:
    calls = SlowBatches()
    httpx_mock.add_callback(calls.answer, url=EMBED_URL, is_reusable=True)
    texts = [f"passage number {n}" for n in range(256)]
    async with client_with(**GEMINI, embedding_batch_size=20, embedding_concurrency=3) as client:
        response = await client.post("/v1/embeddings", json={"texts": texts}, headers=auth)
    vectors = v1.EmbeddingsResponse.model_validate(response.json()).vectors
    assert calls.most == 3
    # The answers keep the order of the texts although the batches ran at once.
    expected = FAKE_MODEL.embed_sync([texts[0], texts[255]])
    assert [round(vectors[0][i] - float(expected[0][i]), 4) for i in range(5)] == [0.0] * 5
    assert [round(vectors[255][i] - float(expected[1][i]), 4) for i in range(5)] == [0.0] * 5


async def test_the_batch_bound_is_per_request_so_requests_reach_the_embedder_together(
    client_with: Any, httpx_mock: HTTPXMock, auth: dict[str, str]
) -> None:
    calls = SlowBatches()
    httpx_mock.add_callback(calls.answer, url=EMBED_URL, is_reusable=True)
    async with client_with(**GEMINI, embedding_concurrency=1) as client:
        answers = await asyncio.gather(
            *(
                client.post("/v1/embeddings", json={"texts": [f"text {n}"]}, headers=auth)
                for n in range(4)
            )
        )
    assert [answer.status_code for answer in answers] == [200] * 4
    # Four documents of one batch each: the bound of 1 is each one's, not the process's.
    assert calls.most == 4


async def test_a_configured_base_url_receives_the_calls(
    client_with: Any, httpx_mock: HTTPXMock, auth: dict[str, str]
) -> None:
    gateway = "http://127.0.0.1:9911/v1beta/models/gemini-embedding-001:batchEmbedContents"
    httpx_mock.add_callback(batch_embed, url=gateway)
    async with client_with(**GEMINI, gemini_base_url="http://127.0.0.1:9911") as client:
        response = await client.post("/v1/embeddings", json={"texts": ["hello"]}, headers=auth)
    assert response.status_code == 200
    assert len(httpx_mock.get_requests(url=gateway)) == 1


async def test_index_and_retrieve_use_document_and_query_task_types(
    client_with: Any, httpx_mock: HTTPXMock, auth: dict[str, str], namespace: str
) -> None:
    httpx_mock.add_callback(batch_embed, url=EMBED_URL, is_reusable=True)
    chunks = [
        {"id": "a", "document_id": "d", "text": "Invoices are emailed on the first day."},
        {"id": "b", "document_id": "d", "text": "The warehouse is in Porto."},
    ]
    async with client_with(**GEMINI) as client:
        await client.post(
            "/v1/index/upsert", json={"namespace": namespace, "chunks": chunks}, headers=auth
        )
        body = {"namespace": namespace, "query": "when are invoices emailed", "top_k": 1}
        matches = (await client.post("/v1/retrieve", json=body, headers=auth)).json()["matches"]
    assert [m["chunk_id"] for m in matches] == ["a"]
    task_types = [r["requests"][0]["taskType"] for r in requests_to(httpx_mock, EMBED_URL)]
    assert task_types == ["RETRIEVAL_DOCUMENT", "RETRIEVAL_QUERY"]


async def test_429_and_500_are_retried(
    client_with: Any, httpx_mock: HTTPXMock, auth: dict[str, str]
) -> None:
    rate_limited = {
        "error": {"code": 429, "message": "Resource exhausted", "status": "RESOURCE_EXHAUSTED"}
    }
    httpx_mock.add_response(url=EMBED_URL, status_code=429, json=rate_limited)
    httpx_mock.add_response(
        url=EMBED_URL,
        status_code=500,
        json={"error": {"code": 500, "message": "x", "status": "INTERNAL"}},
    )
    httpx_mock.add_callback(batch_embed, url=EMBED_URL)
    async with client_with(**GEMINI) as client:
        response = await client.post("/v1/embeddings", json={"texts": ["hello"]}, headers=auth)
    assert response.status_code == 200
    assert len(httpx_mock.get_requests(url=EMBED_URL)) == 3


@pytest.mark.parametrize(
    ("status", "expected_status", "code"),
    [(503, 503, "ProviderUnavailable"), (500, 502, "ProviderError"), (400, 502, "ProviderError")],
)
async def test_provider_failures_have_clear_error_bodies(
    client_with: Any,
    httpx_mock: HTTPXMock,
    auth: dict[str, str],
    status: int,
    expected_status: int,
    code: str,
) -> None:
    error = {"error": {"code": status, "message": "failed", "status": "UNAVAILABLE"}}
    httpx_mock.add_response(url=EMBED_URL, status_code=status, json=error, is_reusable=True)
    async with client_with(**GEMINI, provider_max_retries=1) as client:
        response = await client.post("/v1/embeddings", json={"texts": ["hello"]}, headers=auth)
    assert response.status_code == expected_status
    assert response.json()["error"] == code
    assert "embeddings provider" in response.json()["detail"]


async def test_a_provider_timeout_is_504(
    client_with: Any, httpx_mock: HTTPXMock, auth: dict[str, str]
) -> None:
    httpx_mock.add_exception(httpx.ReadTimeout("slow"), url=EMBED_URL, is_reusable=True)
    async with client_with(**GEMINI, provider_max_retries=0) as client:
        response = await client.post("/v1/embeddings", json={"texts": ["hello"]}, headers=auth)
    assert response.status_code == 504
    assert response.json() == {
        "error": "ProviderTimeout",
        "detail": "The embeddings provider did not answer in time.",
    }


def gemini_reply(text: str, *, prompt_tokens: int = 0, output_tokens: int = 0) -> dict[str, Any]:
    """A ``generateContent`` response (also the shape of each streamed chunk)."""
    body: dict[str, Any] = {
        "candidates": [{"content": {"role": "model", "parts": [{"text": text}]}, "index": 0}],
        "modelVersion": "gemini-2.5-flash",
        "responseId": "resp-1",
    }
    if prompt_tokens or output_tokens:
        body["candidates"][0]["finishReason"] = "STOP"
        body["usageMetadata"] = {
            "promptTokenCount": prompt_tokens,
            "candidatesTokenCount": output_tokens,
            "totalTokenCount": prompt_tokens + output_tokens,
        }
    return body


async def _index_refund_policy(
    client: httpx.AsyncClient, auth: dict[str, str], namespace: str
) -> None:
    chunks = [
        {"id": "refunds", "document_id": "policy", "text": "Refunds are paid within 14 days."},
        {"id": "office", "document_id": "about", "text": "The office is in Lisbon."},
    ]
    body = {"namespace": namespace, "chunks": chunks}
    assert (await client.post("/v1/index/upsert", json=body, headers=auth)).status_code == 200


async def test_rag_chat_sends_passages_history_and_question_to_generate_content(
    client_with: Any, httpx_mock: HTTPXMock, auth: dict[str, str], namespace: str
) -> None:
    reply = gemini_reply(
        "Refunds are paid within 14 days [1].", prompt_tokens=120, output_tokens=11
    )
    # First the model rewrites the message to stand alone (there is history), then answers.
    httpx_mock.add_response(url=GENERATE_URL, json=gemini_reply("How long do refunds take?"))
    httpx_mock.add_response(url=GENERATE_URL, json=reply)
    chat = {
        "namespace": namespace,
        "message": "How long do refunds take?",
        "history": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}],
        "config": {"system_prompt": "You are the shop's assistant.", "temperature": 0.3},
    }
    async with client_with(**GEMINI_CHAT) as client:
        await _index_refund_policy(client, auth, namespace)
        response = await client.post("/v1/chat", json=chat, headers=auth)
    answer = v1.ChatResponse.model_validate(response.json())
    assert answer.answer == "Refunds are paid within 14 days [1]."
    assert answer.model == "gemini-2.5-flash"
    assert answer.usage == v1.TokenUsage(input_tokens=120, output_tokens=11)
    assert [c.chunk_id for c in answer.citations] == ["refunds"]
    rewrite, sent = requests_to(httpx_mock, GENERATE_URL)
    assert "standalone question" in rewrite["systemInstruction"]["parts"][0]["text"]
    assert rewrite["contents"][-1]["parts"][0]["text"] == "How long do refunds take?"
    system = sent["systemInstruction"]["parts"][0]["text"]
    assert system.startswith("You are the shop's assistant.")
    assert "[1] Refunds are paid within 14 days." in system
    assert [(c["role"], c["parts"][0]["text"]) for c in sent["contents"]] == [
        ("user", "Hi"),
        ("model", "Hello!"),
        ("user", "How long do refunds take?"),
    ]
    assert sent["generationConfig"]["temperature"] == 0.3


async def test_streamed_chat_relays_tokens_as_gemini_sends_them(
    client_with: Any, httpx_mock: HTTPXMock, auth: dict[str, str], namespace: str
) -> None:
    chunks = [
        gemini_reply("Refunds are paid "),
        gemini_reply("within 14 days "),
        gemini_reply("[1].", prompt_tokens=100, output_tokens=9),
    ]
    sse = "".join(f"data: {json.dumps(chunk)}\r\n\r\n" for chunk in chunks)
    httpx_mock.add_response(
        url=STREAM_URL, content=sse.encode(), headers={"content-type": "text/event-stream"}
    )
    body = {"namespace": namespace, "message": "How long do refunds take?"}
    async with client_with(**GEMINI_CHAT) as client:
        await _index_refund_policy(client, auth, namespace)
        response = await client.post("/v1/chat/stream", json=body, headers=auth)
    events = parse_sse(response.text)
    assert [name for name, _ in events] == ["token", "token", "token", "citations", "done"]
    assert [data["delta"] for name, data in events if name == "token"] == [
        "Refunds are paid ",
        "within 14 days ",
        "[1].",
    ]
    assert events[3][1]["citations"][0]["chunk_id"] == "refunds"
    done = events[4][1]
    timings = done.pop("timings")
    assert done == {
        "usage": {"input_tokens": 100, "output_tokens": 9},
        "model": "gemini-2.5-flash",
        "answered": True,
    }
    assert set(timings) == {"retrieval_ms", "first_token_ms", "generation_ms", "total_ms"}


async def test_a_stream_failing_at_the_start_answers_with_an_error_status(
    client_with: Any, httpx_mock: HTTPXMock, auth: dict[str, str], namespace: str
) -> None:
    error = {"error": {"code": 503, "message": "overloaded", "status": "UNAVAILABLE"}}
    httpx_mock.add_response(url=STREAM_URL, status_code=503, json=error, is_reusable=True)
    body = {"namespace": namespace, "message": "How long do refunds take?"}
    async with client_with(**GEMINI_CHAT, provider_max_retries=0) as client:
        await _index_refund_policy(client, auth, namespace)
        response = await client.post("/v1/chat/stream", json=body, headers=auth)
    assert response.status_code == 503
    assert response.json()["error"] == "ProviderUnavailable"


def parse_sse(text: str) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((fields["event"], json.loads(fields["data"])))
    return events


class _BrokenStream(httpx.AsyncByteStream):
    """A streamed response whose connection drops after the first event."""

    def __init__(self, first: bytes) -> None:
        self.first = first

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.first
        raise httpx.RemoteProtocolError("peer closed connection without sending complete message")


async def test_nothing_relevant_is_answered_without_asking_the_model(
    client_with: Any, httpx_mock: HTTPXMock, auth: dict[str, str], namespace: str
) -> None:
    body = {"namespace": namespace, "message": "What is the capital of Australia?"}
    async with client_with(**GEMINI_CHAT) as client:
        await _index_refund_policy(client, auth, namespace)
        response = await client.post("/v1/chat", json=body, headers=auth)
    answer = v1.ChatResponse.model_validate(response.json())
    assert (answer.answered, answer.citations) == (False, [])
    assert "do not cover" in answer.answer
    assert httpx_mock.get_requests(url=GENERATE_URL) == []


async def test_a_stream_failing_midway_ends_with_an_error_event(
    client_with: Any, httpx_mock: HTTPXMock, auth: dict[str, str], namespace: str
) -> None:
    first = f"data: {json.dumps(gemini_reply('Refunds are '))}\r\n\r\n".encode()
    httpx_mock.add_response(
        url=STREAM_URL, stream=_BrokenStream(first), headers={"content-type": "text/event-stream"}
    )
    body = {"namespace": namespace, "message": "How long do refunds take?"}
    async with client_with(**GEMINI_CHAT, provider_max_retries=0) as client:
        await _index_refund_policy(client, auth, namespace)
        response = await client.post("/v1/chat/stream", json=body, headers=auth)
    assert response.status_code == 200
    events = parse_sse(response.text)
    assert events == [
        ("token", {"delta": "Refunds are "}),
        (
            "error",
            {
                "error": "ProviderUnavailable",
                "detail": "The chat provider is unavailable; try again later.",
            },
        ),
    ]


def test_the_gemini_transport_serves_the_sync_and_the_async_client(httpx_mock: HTTPXMock) -> None:
    # google-genai hands the one transport in client_args to both of its httpx clients.
    httpx_mock.add_response(url=GENERATE_URL, json={"ok": True}, is_reusable=True)
    transport = gemini_client_args()["transport"]

    async def post_async() -> Any:
        async with httpx.AsyncClient(transport=transport) as async_client:
            return (await async_client.post(GENERATE_URL)).json()

    with httpx.Client(transport=transport) as sync_client:
        assert sync_client.post(GENERATE_URL).json() == {"ok": True}
    assert asyncio.run(post_async()) == {"ok": True}
    assert len(httpx_mock.get_requests(url=GENERATE_URL)) == 2
