"""Embeddings, upsert, delete and retrieve through HTTP with the offline defaults."""

from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from chatsphere_contracts import v1


async def _upsert(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    namespace: str,
    chunks: Sequence[Mapping[str, object]],
) -> httpx.Response:
    body = {"namespace": namespace, "chunks": chunks}
    return await client.post("/v1/index/upsert", json=body, headers=auth)


async def _retrieve(
    client: httpx.AsyncClient, auth: dict[str, str], namespace: str, query: str, **extra: object
) -> list[dict[str, object]]:
    body = {"namespace": namespace, "query": query, **extra}
    response = await client.post("/v1/retrieve", json=body, headers=auth)
    assert response.status_code == 200, response.text
    matches: list[dict[str, object]] = response.json()["matches"]
    return matches


async def test_embeddings_answer_one_unit_vector_per_text(
    agent_client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    response = await agent_client.post(
        "/v1/embeddings", json={"texts": ["first text", "second text"]}, headers=auth
    )
    body = v1.EmbeddingsResponse.model_validate(response.json())
    assert body.model == "static-minilm-256"
    assert body.dimensions == 256
    assert [len(vector) for vector in body.vectors] == [256, 256]
    assert all(abs(sum(x * x for x in vector) - 1.0) < 1e-4 for vector in body.vectors)


async def test_upsert_then_retrieve_finds_the_passage_with_its_metadata(
    agent_client: httpx.AsyncClient, auth: dict[str, str], namespace: str
) -> None:
    chunks: list[dict[str, object]] = [
        {
            "id": "c1",
            "document_id": "d1",
            "text": "Refunds are paid within 14 days.",
            "metadata": {"page": 2},
        },
        {"id": "c2", "document_id": "d1", "text": "Our office is in Lisbon."},
    ]
    assert (await _upsert(agent_client, auth, namespace, chunks)).json() == {"upserted": 2}
    matches = await _retrieve(agent_client, auth, namespace, "how long do refunds take", top_k=1)
    assert [(m["chunk_id"], m["document_id"], m["metadata"]) for m in matches] == [
        ("c1", "d1", {"page": 2})
    ]
    assert 0.0 < float(str(matches[0]["score"])) <= 1.0


async def test_the_same_ids_twice_overwrite(
    agent_client: httpx.AsyncClient, auth: dict[str, str], namespace: str
) -> None:
    await _upsert(
        agent_client, auth, namespace, [{"id": "c1", "document_id": "d1", "text": "old words"}]
    )
    await _upsert(
        agent_client, auth, namespace, [{"id": "c1", "document_id": "d1", "text": "new words"}]
    )
    matches = await _retrieve(agent_client, auth, namespace, "words old new")
    assert [m["text"] for m in matches] == ["new words"]


async def test_delete_by_document_and_namespace_isolation(
    agent_client: httpx.AsyncClient, auth: dict[str, str], namespace: str
) -> None:
    neighbour = namespace + "-neighbour"
    doomed: list[dict[str, object]] = [
        {"id": f"c{n}", "document_id": "gone", "text": f"shared topic part {n}"} for n in range(3)
    ]
    await _upsert(
        agent_client,
        auth,
        namespace,
        [*doomed, {"id": "k", "document_id": "kept", "text": "shared topic kept"}],
    )
    await _upsert(
        agent_client, auth, neighbour, [{"id": "c0", "document_id": "gone", "text": "shared topic"}]
    )
    body = {"namespace": namespace, "document_id": "gone"}
    response = await agent_client.post("/v1/index/delete", json=body, headers=auth)
    assert response.json() == {"deleted": 3}
    assert [
        m["chunk_id"] for m in await _retrieve(agent_client, auth, namespace, "shared topic")
    ] == ["k"]
    assert [
        m["chunk_id"] for m in await _retrieve(agent_client, auth, neighbour, "shared topic")
    ] == ["c0"]


async def test_filter_and_min_score(
    agent_client: httpx.AsyncClient, auth: dict[str, str], namespace: str
) -> None:
    chunks = [
        {"id": "a", "document_id": "d1", "text": "solar panels produce electricity"},
        {"id": "b", "document_id": "d2", "text": "solar panels need sunlight"},
    ]
    await _upsert(agent_client, auth, namespace, chunks)
    only_d2 = await _retrieve(
        agent_client, auth, namespace, "solar panels", filter={"document_ids": ["d2"]}
    )
    assert [m["chunk_id"] for m in only_d2] == ["b"]
    # Hybrid scores are fused ranks: first in both rankings is 1.0, second in both 61/62.
    best = await _retrieve(agent_client, auth, namespace, "solar electricity", min_score=0.99)
    assert [m["chunk_id"] for m in best] == ["a"]
    # A semantic model puts every passage at some distance: found by meaning alone, an unrelated
    # passage ranks, but below the agreement of both rankings.
    unrelated = await _retrieve(agent_client, auth, namespace, "unrelated banana")
    assert all(float(str(m["score"])) < 0.99 for m in unrelated)


async def test_with_hash_a_query_sharing_no_word_finds_nothing(
    client_with: Any, auth: dict[str, str], namespace: str
) -> None:
    chunks = [{"id": "a", "document_id": "d1", "text": "solar panels produce electricity"}]
    async with client_with(embedder="hash") as client:
        await _upsert(client, auth, namespace, chunks)
        assert [m["chunk_id"] for m in await _retrieve(client, auth, namespace, "solar")] == ["a"]
        assert await _retrieve(client, auth, namespace, "unrelated banana") == []


async def test_delete_needs_exactly_one_selector(
    agent_client: httpx.AsyncClient, auth: dict[str, str], namespace: str
) -> None:
    body = {"namespace": namespace, "ids": ["a"], "delete_all": True}
    response = await agent_client.post("/v1/index/delete", json=body, headers=auth)
    assert response.status_code == 422
    assert response.json()["error"] == "ValidationError"
