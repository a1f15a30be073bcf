"""Answers users can trust, through the agent's HTTP API with the offline defaults.

Exact codes are found and ranked first; a follow-up question retrieves with the conversation;
a question the documents do not cover is answered ``answered: false``.
"""

import httpx
import pytest

PASSAGES = {
    "zk4471": "Fault ZK-4471 means the intake valve is stuck; reset it from the service panel.",
    "zk": "The ZK pump series is sold in three sizes for garden ponds.",
    "http2": "The gateway speaks HTTP/2 to clients and keeps one connection per browser.",
    "release": "Release v1.2.3 fixed a memory leak in the importer.",
    "backup": (
        "Nightly backups start at 02:00 and copy every volume to the archive bucket. The backup "
        "is skipped when the previous one is still running or when maintenance mode is on."
    ),
    "holidays": "Employees get 25 days of paid holiday per year, plus public holidays.",
}


async def _index(client: httpx.AsyncClient, auth: dict[str, str], namespace: str) -> None:
    chunks = [{"id": key, "document_id": key, "text": text} for key, text in PASSAGES.items()]
    answer = await client.post(
        "/v1/index/upsert", json={"namespace": namespace, "chunks": chunks}, headers=auth
    )
    assert answer.status_code == 200, answer.text


async def _retrieve(
    client: httpx.AsyncClient, auth: dict[str, str], namespace: str, query: str
) -> list[str]:
    body = {"namespace": namespace, "query": query, "top_k": 5}
    answer = await client.post("/v1/retrieve", json=body, headers=auth)
    assert answer.status_code == 200, answer.text
    return [match["chunk_id"] for match in answer.json()["matches"]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("ZK-4471", "zk4471"),
        ("what does ZK-4471 mean?", "zk4471"),
        ("4471", "zk4471"),
        ("HTTP/2", "http2"),
        ("v1.2.3", "release"),
    ],
)
async def test_codes_and_numbers_are_found_exactly_and_ranked_first(
    agent_client: httpx.AsyncClient,
    auth: dict[str, str],
    namespace: str,
    query: str,
    expected: str,
) -> None:
    await _index(agent_client, auth, namespace)
    found = await _retrieve(agent_client, auth, namespace, query)
    assert found[:1] == [expected], found


async def _chat(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    namespace: str,
    message: str,
    history: list[dict[str, str]] | None = None,
) -> dict[str, object]:
    body = {"namespace": namespace, "message": message, "history": history or []}
    answer = await client.post("/v1/chat", json=body, headers=auth)
    assert answer.status_code == 200, answer.text
    result: dict[str, object] = answer.json()
    return result


def _cited(answer: dict[str, object]) -> list[str]:
    citations = answer["citations"]
    assert isinstance(citations, list)
    return [citation["document_id"] for citation in citations]


async def test_a_follow_up_retrieves_the_topic_of_the_conversation(
    agent_client: httpx.AsyncClient, auth: dict[str, str], namespace: str
) -> None:
    await _index(agent_client, auth, namespace)
    first = await _chat(agent_client, auth, namespace, "When do the nightly backups start?")
    assert _cited(first)[:1] == ["backup"]
    history = [
        {"role": "user", "content": "When do the nightly backups start?"},
        {"role": "assistant", "content": str(first["answer"])},
    ]
    follow_up = await _chat(agent_client, auth, namespace, "and when is it skipped?", history)
    assert follow_up["answered"] is True
    assert "backup" in _cited(follow_up)
    assert "maintenance mode" in str(follow_up["answer"])


async def test_a_change_of_topic_is_not_dragged_back(
    agent_client: httpx.AsyncClient, auth: dict[str, str], namespace: str
) -> None:
    await _index(agent_client, auth, namespace)
    history = [
        {"role": "user", "content": "When do the nightly backups start?"},
        {"role": "assistant", "content": "At 02:00."},
    ]
    answer = await _chat(
        agent_client, auth, namespace, "How many paid holiday days do employees get?", history
    )
    assert _cited(answer)[:1] == ["holidays"]


async def test_a_question_the_documents_do_not_cover_is_not_answered(
    agent_client: httpx.AsyncClient, auth: dict[str, str], namespace: str
) -> None:
    await _index(agent_client, auth, namespace)
    answer = await _chat(agent_client, auth, namespace, "What is the capital of Australia?")
    assert answer["answered"] is False
    assert answer["citations"] == []
    covered = await _chat(agent_client, auth, namespace, "How many holiday days do I get?")
    assert covered["answered"] is True
