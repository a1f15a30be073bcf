"""Vectors in a Pinecone index (``pinecone`` SDK 10): one Pinecone namespace per tenant."""

from collections.abc import Sequence
from functools import partial
from typing import Any

from pinecone import AsyncIndex

from agent_service.ingestion.embedders import Matrix
from agent_service.ingestion.retry import CallPolicy
from agent_service.retrieval.store import StoredMatch, VectorRecord

__all__ = ["PineconeStore"]

_RESERVED = ("document_id", "text")
_USER_PREFIX = "m_"


class PineconeStore:
    """Vector-only search (no keywords); the passage text travels in the metadata."""

    def __init__(
        self, index: AsyncIndex, *, policy: CallPolicy, upsert_batch_size: int = 100
    ) -> None:
        self._index = index
        self._policy = policy
        # Pinecone takes at most 1,000 records or 2 MB a request: 100 passages with their text in
        # the metadata stay under the byte cap.
        self._batch_size = upsert_batch_size

    @property
    def supports_keyword_search(self) -> bool:
        """Pinecone's dense indexes have no full-text search."""
        return False

    @property
    def counts_deletions(self) -> bool:
        """Pinecone's delete answers nothing; we report what was asked."""
        return False

    async def upsert(self, namespace: str, records: Sequence[VectorRecord]) -> int:
        """Upsert in batches (Pinecone takes at most 1,000 records or 2 MB per request)."""
        for start in range(0, len(records), self._batch_size):
            vectors = [_to_pinecone(record) for record in records[start : start + self._batch_size]]
            await self._policy.call(
                partial(self._index.upsert, vectors=vectors, namespace=namespace)
            )
        return len(records)

    async def delete_ids(self, namespace: str, ids: Sequence[str]) -> int:
        """Delete by vector id; unknown ids are ignored by Pinecone."""
        await self._policy.call(lambda: self._index.delete(ids=list(ids), namespace=namespace))
        return len(ids)

    async def delete_document(self, namespace: str, document_id: str) -> int:
        """Delete by metadata filter on ``document_id`` (count unknown: answers 0)."""
        selector = {"document_id": {"$eq": document_id}}
        await self._policy.call(lambda: self._index.delete(filter=selector, namespace=namespace))
        return 0

    async def delete_all(self, namespace: str) -> int:
        """Empty the namespace."""
        await self._policy.call(lambda: self._index.delete(delete_all=True, namespace=namespace))
        return 0

    async def vector_search(
        self, namespace: str, vector: Matrix, *, top_k: int, document_ids: Sequence[str] | None
    ) -> list[StoredMatch]:
        """Nearest neighbours by the index's metric (create it with ``cosine``)."""
        selector = None if document_ids is None else {"document_id": {"$in": list(document_ids)}}
        response = await self._policy.call(
            lambda: self._index.query(
                top_k=top_k,
                vector=[float(value) for value in vector],
                namespace=namespace,
                filter=selector,
                include_metadata=True,
            )
        )
        return [_from_pinecone(match.id, match.score, match.metadata) for match in response.matches]

    async def keyword_search(
        self, namespace: str, query: str, *, top_k: int, document_ids: Sequence[str] | None
    ) -> list[StoredMatch]:
        """Not supported: retrieval falls back to vector-only."""
        return []

    async def aclose(self) -> None:
        """Close the SDK's HTTP client."""
        await self._index.close()


def _to_pinecone(record: VectorRecord) -> dict[str, Any]:
    # Caller metadata is prefixed so that it can never overwrite our own keys.
    metadata = {f"{_USER_PREFIX}{key}": value for key, value in record.metadata.items()}
    metadata.update(document_id=record.document_id, text=record.text)
    values = [float(value) for value in record.vector]
    return {"id": record.id, "values": values, "metadata": metadata}


def _from_pinecone(id_: str, score: float | None, metadata: dict[str, Any] | None) -> StoredMatch:
    stored = metadata or {}
    user = {
        key.removeprefix(_USER_PREFIX): value
        for key, value in stored.items()
        if key.startswith(_USER_PREFIX) and key not in _RESERVED
    }
    similarity = float(score or 0.0)
    return StoredMatch(
        id=id_,
        document_id=str(stored.get("document_id", "")),
        text=str(stored.get("text", "")),
        score=similarity,
        metadata=user,
        similarity=similarity,
    )
