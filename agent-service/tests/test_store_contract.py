"""The behaviour every vector store must have, run against pgvector and against Pinecone.

Pinecone is a loopback stub server speaking Pinecone's data-plane REST API (``/vectors/upsert``,
``/query``, ``/vectors/delete``), driven by the real ``pinecone`` SDK.
"""

import asyncio
import math
import socket
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx
import pytest
import uvicorn
from pinecone import AsyncIndex
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from agent_service.ingestion.embedders import HashEmbedder
from agent_service.ingestion.retry import CallPolicy
from agent_service.retrieval.pgvector_store import PgVectorStore
from agent_service.retrieval.pinecone_store import PineconeStore
from agent_service.retrieval.store import VectorRecord, VectorStore

_EMBEDDER = HashEmbedder(256)


def records(
    document_id: str, texts: Sequence[str], *, ids: Sequence[str] | None = None
) -> list[VectorRecord]:
    """Records with real hash vectors."""
    vectors = _EMBEDDER.embed_sync(texts)
    chosen_ids = ids or [str(uuid.uuid4()) for _ in texts]
    return [
        VectorRecord(id=id_, document_id=document_id, text=text, vector=vector, metadata={"n": n})
        for n, (id_, text, vector) in enumerate(zip(chosen_ids, texts, vectors, strict=True))
    ]


async def search(
    store: VectorStore,
    namespace: str,
    query: str,
    *,
    top_k: int = 10,
    docs: Sequence[str] | None = None,
) -> list[str]:
    vector = _EMBEDDER.embed_sync([query])[0]
    matches = await store.vector_search(namespace, vector, top_k=top_k, document_ids=docs)
    return [match.id for match in matches]


STUB_KEY = "pinecone-stub-key"


class PineconeStub:
    """Namespaces of vectors in memory, served with Pinecone's request and response shapes."""

    def __init__(self) -> None:
        self.namespaces: dict[str, dict[str, dict[str, Any]]] = {}
        self.upsert_batches: list[int] = []

    def app(self) -> Starlette:
        routes = [
            Route("/vectors/upsert", self.upsert, methods=["POST"]),
            Route("/query", self.query, methods=["POST"]),
            Route("/vectors/delete", self.delete, methods=["POST"]),
        ]
        return Starlette(routes=routes)

    async def _body(self, request: Request) -> dict[str, Any]:
        assert request.headers["api-key"] == STUB_KEY
        body: dict[str, Any] = await request.json()
        return body

    async def upsert(self, request: Request) -> JSONResponse:
        body = await self._body(request)
        space = self.namespaces.setdefault(body.get("namespace", ""), {})
        for vector in body["vectors"]:
            space[vector["id"]] = {
                "values": vector["values"],
                "metadata": vector.get("metadata", {}),
            }
        self.upsert_batches.append(len(body["vectors"]))
        return JSONResponse({"upsertedCount": len(body["vectors"])})

    async def query(self, request: Request) -> JSONResponse:
        body = await self._body(request)
        namespace = body.get("namespace", "")
        space = self.namespaces.get(namespace, {})
        hits: list[dict[str, Any]] = [
            {
                "id": id_,
                "score": _cosine(body["vector"], item["values"]),
                "values": [],
                "metadata": item["metadata"] if body.get("includeMetadata") else None,
            }
            for id_, item in space.items()
            if _admits(body.get("filter"), item["metadata"])
        ]
        hits.sort(key=lambda hit: -float(hit["score"]))
        return JSONResponse(
            {"matches": hits[: body["topK"]], "namespace": namespace, "usage": {"readUnits": 1}}
        )

    async def delete(self, request: Request) -> JSONResponse:
        body = await self._body(request)
        space = self.namespaces.setdefault(body.get("namespace", ""), {})
        if body.get("deleteAll"):
            space.clear()
        for id_ in body.get("ids", []):
            space.pop(id_, None)
        if "filter" in body:
            for id_ in [
                i for i, item in space.items() if _admits(body["filter"], item["metadata"])
            ]:
                del space[id_]
        return JSONResponse({})


def _cosine(left: list[float], right: list[float]) -> float:
    dot = sum(a * b for a, b in zip(left, right, strict=True))
    norms = math.sqrt(sum(a * a for a in left)) * math.sqrt(sum(b * b for b in right))
    return dot / norms if norms else 0.0


def _admits(selector: dict[str, Any] | None, metadata: dict[str, Any]) -> bool:
    for key, condition in (selector or {}).items():
        value = metadata.get(key)
        if isinstance(condition, dict):
            if "$eq" in condition and value != condition["$eq"]:
                return False
            if "$in" in condition and value not in condition["$in"]:
                return False
        elif value != condition:
            return False
    return True


@pytest.fixture(scope="session")
async def pinecone_stub() -> AsyncIterator[tuple[PineconeStub, str]]:
    """The stub, listening on a free loopback port, and its URL."""
    stub = PineconeStub()
    config = uvicorn.Config(
        stub.app(), host="127.0.0.1", port=0, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    # A socket that listens before the server starts: early requests wait in its backlog.
    listener = socket.create_server(("127.0.0.1", 0))
    task = asyncio.create_task(server.serve(sockets=[listener]))
    yield stub, f"http://127.0.0.1:{listener.getsockname()[1]}"
    server.should_exit = True
    await task


@pytest.fixture
async def pinecone_store(pinecone_stub: tuple[PineconeStub, str]) -> AsyncIterator[PineconeStore]:
    """A Pinecone store talking to the stub; small batches to exercise batching."""
    index = AsyncIndex(host=pinecone_stub[1], api_key=STUB_KEY)
    policy = CallPolicy(timeout_s=10, max_retries=0, backoff_s=0)
    store = PineconeStore(index, policy=policy, upsert_batch_size=3)
    yield store
    await store.aclose()


@pytest.fixture(params=["pgvector", "pinecone"])
def store(
    request: pytest.FixtureRequest, pgvector_store: PgVectorStore, pinecone_store: PineconeStore
) -> VectorStore:
    """Each store in turn."""
    stores: dict[str, VectorStore] = {"pgvector": pgvector_store, "pinecone": pinecone_store}
    return stores[request.param]


class TestStoreContract:
    async def test_nearest_passage_comes_first_with_its_fields(self, store: VectorStore) -> None:
        namespace = f"bot-{uuid.uuid4()}"
        written = records("doc-1", ["cats purr softly", "dogs bark loudly", "fish swim"])
        assert await store.upsert(namespace, written) == 3
        vector = _EMBEDDER.embed_sync(["why do dogs bark"])[0]
        best = (await store.vector_search(namespace, vector, top_k=2, document_ids=None))[0]
        assert (best.id, best.document_id, best.text) == (
            written[1].id,
            "doc-1",
            "dogs bark loudly",
        )
        assert best.metadata == {"n": 1}
        assert 0.0 < best.score <= 1.0

    async def test_upserting_the_same_ids_twice_leaves_one_vector(self, store: VectorStore) -> None:
        namespace = f"bot-{uuid.uuid4()}"
        ids = ["chunk-a", "chunk-b"]
        await store.upsert(namespace, records("doc-1", ["old alpha", "old beta"], ids=ids))
        await store.upsert(namespace, records("doc-1", ["new alpha", "new beta"], ids=ids))
        vector = _EMBEDDER.embed_sync(["alpha beta old new"])[0]
        matches = await store.vector_search(namespace, vector, top_k=10, document_ids=None)
        assert sorted(match.id for match in matches) == ids
        assert sorted(match.text for match in matches) == ["new alpha", "new beta"]

    async def test_delete_by_document_removes_all_its_vectors(self, store: VectorStore) -> None:
        namespace = f"bot-{uuid.uuid4()}"
        doomed = records("doc-doomed", [f"doomed passage number {n}" for n in range(7)])
        kept = records("doc-kept", ["kept passage number one"])
        await store.upsert(namespace, doomed + kept)
        deleted = await store.delete_document(namespace, "doc-doomed")
        assert deleted == 7 or not store.counts_deletions
        assert await search(store, namespace, "passage number") == [kept[0].id]

    async def test_delete_by_ids_and_all(self, store: VectorStore) -> None:
        namespace = f"bot-{uuid.uuid4()}"
        written = records("doc-1", ["one red", "two red", "three red"])
        await store.upsert(namespace, written)
        assert await store.delete_ids(namespace, [written[0].id, "missing"]) in (1, 2)
        assert sorted(await search(store, namespace, "red")) == sorted(r.id for r in written[1:])
        await store.delete_all(namespace)
        assert await search(store, namespace, "red") == []

    async def test_namespaces_never_leak(self, store: VectorStore) -> None:
        first, second = f"bot-{uuid.uuid4()}", f"bot-{uuid.uuid4()}"
        shared_ids = ["same-id"]
        await store.upsert(first, records("doc-1", ["secret of the first bot"], ids=shared_ids))
        await store.upsert(second, records("doc-1", ["secret of the second bot"], ids=shared_ids))
        matches = await store.vector_search(
            second, _EMBEDDER.embed_sync(["secret first bot"])[0], top_k=10, document_ids=None
        )
        assert [match.text for match in matches] == ["secret of the second bot"]
        await store.delete_all(first)
        assert await search(store, second, "secret") == ["same-id"]
        assert await store.delete_document(first, "doc-1") == 0 or not store.counts_deletions

    async def test_document_filter_restricts_matches(self, store: VectorStore) -> None:
        namespace = f"bot-{uuid.uuid4()}"
        one, two = records("doc-1", ["apple pie recipe"]), records("doc-2", ["apple tart recipe"])
        await store.upsert(namespace, one + two)
        assert await search(store, namespace, "apple recipe", docs=["doc-2"]) == [two[0].id]
        assert await search(store, namespace, "apple recipe", docs=["doc-3"]) == []


async def test_pinecone_upserts_in_batches(
    pinecone_store: PineconeStore, pinecone_stub: tuple[PineconeStub, str]
) -> None:
    stub = pinecone_stub[0]
    stub.upsert_batches.clear()
    await pinecone_store.upsert(f"bot-{uuid.uuid4()}", records("doc", [f"t {n}" for n in range(7)]))
    assert stub.upsert_batches == [3, 3, 1]


async def test_the_agent_runs_on_pinecone_end_to_end(
    client_with: Any, pinecone_stub: tuple[PineconeStub, str], auth: dict[str, str]
) -> None:
    first, second = f"bot-{uuid.uuid4()}", f"bot-{uuid.uuid4()}"
    settings = {
        "vector_store": "pinecone",
        "pinecone_api_key": STUB_KEY,
        "pinecone_index_host": pinecone_stub[1],
    }
    chunk = {
        "id": "c1",
        "document_id": "d1",
        "text": "Parcels ship from Rotterdam.",
        "metadata": {"page": 3},
    }
    async with client_with(**settings) as client:
        for namespace in (first, second):
            body = {"namespace": namespace, "chunks": [chunk]}
            assert (
                await client.post("/v1/index/upsert", json=body, headers=auth)
            ).status_code == 200
        delete = {"namespace": first, "document_id": "d1"}
        assert (await client.post("/v1/index/delete", json=delete, headers=auth)).status_code == 200
        found = await _retrieve(client, auth, second, "where do parcels ship from")
        gone = await _retrieve(client, auth, first, "where do parcels ship from")
    assert [(m["chunk_id"], m["metadata"]) for m in found] == [("c1", {"page": 3})]
    assert gone == []


async def _retrieve(
    client: httpx.AsyncClient, auth: dict[str, str], namespace: str, query: str
) -> list[dict[str, Any]]:
    body = {"namespace": namespace, "query": query}
    response = await client.post("/v1/retrieve", json=body, headers=auth)
    assert response.status_code == 200, response.text
    matches: list[dict[str, Any]] = response.json()["matches"]
    return matches
