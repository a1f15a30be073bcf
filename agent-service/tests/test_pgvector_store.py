"""The pgvector store passes the store contract, and its full-text search works."""

import uuid

import numpy as np

from agent_service.retrieval.pgvector_store import PgVectorStore, table_name_for
from agent_service.retrieval.store import VectorRecord


def records(document_id: str, texts: list[str]) -> list[VectorRecord]:
    vector = np.full(256, 1 / 16, dtype=np.float32)
    return [
        VectorRecord(id=str(uuid.uuid4()), document_id=document_id, text=text, vector=vector)
        for text in texts
    ]


async def test_keyword_search_matches_any_word_and_stays_in_its_namespace(
    pgvector_store: PgVectorStore,
) -> None:
    store = pgvector_store
    namespace, other = f"bot-{uuid.uuid4()}", f"bot-{uuid.uuid4()}"
    written = records("doc-1", ["Invoices are sent monthly.", "The cat sleeps."])
    await store.upsert(namespace, written)
    await store.upsert(other, records("doc-1", ["Invoices everywhere"]))
    matches = await store.keyword_search(
        namespace, "when are my invoices sent?", top_k=5, document_ids=None
    )
    assert [match.id for match in matches] == [written[0].id]
    assert await store.keyword_search(namespace, "'); DROP --", top_k=5, document_ids=None) == []


def test_table_names_are_safe_identifiers() -> None:
    assert table_name_for("models/gemini-embedding-001", 768) == (
        "passages_models_gemini_embedding_001_768"
    )
