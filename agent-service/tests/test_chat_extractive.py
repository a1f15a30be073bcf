"""``/v1/chat`` and ``/v1/chat/stream`` with the default extractive provider."""

import json

import httpx

from chatsphere_contracts import v1

PASSAGES = [
    {
        "id": "refunds",
        "document_id": "policy",
        "text": "Orders can be returned within 30 days. Refunds are paid to the original card "
        "within 14 days of receiving the item. Shipping costs are not refunded.",
    },
    {
        "id": "office",
        "document_id": "about",
        "text": "Our office is in Lisbon. We are open Monday to Friday.",
    },
]


async def _index(client: httpx.AsyncClient, auth: dict[str, str], namespace: str) -> None:
    body = {"namespace": namespace, "chunks": PASSAGES}
    assert (await client.post("/v1/index/upsert", json=body, headers=auth)).status_code == 200


async def test_the_answer_quotes_the_best_sentence_and_cites_its_passage(
    agent_client: httpx.AsyncClient, auth: dict[str, str], namespace: str
) -> None:
    await _index(agent_client, auth, namespace)
    body = {"namespace": namespace, "message": "When will my refund be paid?"}
    response = await agent_client.post("/v1/chat", json=body, headers=auth)
    answer = v1.ChatResponse.model_validate(response.json())
    assert answer.model == "extractive"
    assert answer.answer.startswith("Extractive answer")
    assert "Refunds are paid to the original card within 14 days" in answer.answer
    assert [c.chunk_id for c in answer.citations] == ["refunds"]
    assert "Refunds are paid" in answer.citations[0].snippet
    assert answer.usage.input_tokens > 0
    assert answer.usage.output_tokens > 0


async def test_it_says_plainly_when_nothing_relevant_was_found(
    agent_client: httpx.AsyncClient, auth: dict[str, str], namespace: str
) -> None:
    await _index(agent_client, auth, namespace)
    body = {"namespace": namespace, "message": "What is the airspeed of a swallow?"}
    answer = (await agent_client.post("/v1/chat", json=body, headers=auth)).json()
    assert "found nothing relevant" in answer["answer"]
    assert answer["citations"] == []


async def test_an_empty_namespace_answers_too(
    agent_client: httpx.AsyncClient, auth: dict[str, str], namespace: str
) -> None:
    body = {"namespace": namespace, "message": "anything at all?"}
    response = await agent_client.post("/v1/chat", json=body, headers=auth)
    assert response.status_code == 200
    assert "nothing relevant" in response.json()["answer"]


def parse_sse(text: str) -> list[tuple[str, dict[str, object]]]:
    """``[(event, data), ...]`` from a ``text/event-stream`` body."""
    events = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((fields["event"], json.loads(fields["data"])))
    return events


async def test_the_stream_sends_tokens_then_citations_then_done(
    agent_client: httpx.AsyncClient, auth: dict[str, str], namespace: str
) -> None:
    await _index(agent_client, auth, namespace)
    body = {"namespace": namespace, "message": "Which days are you open?"}
    async with agent_client.stream("POST", "/v1/chat/stream", json=body, headers=auth) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = parse_sse((await response.aread()).decode())
    names = [name for name, _ in events]
    assert names[-2:] == ["citations", "done"]
    assert set(names[:-2]) == {"token"}
    assert len(names) > 3
    text = "".join(str(data["delta"]) for name, data in events if name == "token")
    chat = (await agent_client.post("/v1/chat", json=body, headers=auth)).json()
    assert text == chat["answer"]
    assert events[-2][1] == {"citations": chat["citations"]}
    done = dict(events[-1][1])
    assert set(done.pop("timings")) == set(chat["timings"])  # type: ignore[call-overload]
    assert done == {"usage": chat["usage"], "model": "extractive", "answered": True}
