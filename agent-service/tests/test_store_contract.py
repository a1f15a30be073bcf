"""The behaviour every vector store must have, run against each store."""

import uuid
from collections.abc import Sequence

import pytest

from agent_service.ingestion.embedders import HashEmbedder
from agent_service.retrieval.pgvector_store import PgVectorStore
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


@pytest.fixture(params=["pgvector"])
def store(request: pytest.FixtureRequest, pgvector_store: PgVectorStore) -> VectorStore:
    """Each store in turn."""
    stores: dict[str, VectorStore] = {"pgvector": pgvector_store}
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
