"""The vector store interface every backend implements."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from agent_service.ingestion.embedders import Matrix

__all__ = ["StoredMatch", "VectorRecord", "VectorStore"]


@dataclass(frozen=True, slots=True)
class VectorRecord:
    """A passage with its vector, keyed by (namespace, id)."""

    id: str
    document_id: str
    text: str
    vector: Matrix
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StoredMatch:
    """A passage found by a search, with the backend's own score (higher is better).

    ``similarity`` is the vector search's cosine similarity (a vector search sets it, and it
    survives hybrid fusion; None when only the word search found the passage), and
    ``shares_words`` whether the word search found it: the fused score ranks, these two say
    whether the passage is relevant at all.
    """

    id: str
    document_id: str
    text: str
    score: float
    metadata: dict[str, Any] = field(default_factory=dict)
    similarity: float | None = None
    shares_words: bool = False


class VectorStore(Protocol):
    """Namespaced passages with vectors; every operation stays inside one namespace."""

    @property
    def supports_keyword_search(self) -> bool:
        """Whether ``keyword_search`` does anything (hybrid search needs it)."""
        ...

    @property
    def counts_deletions(self) -> bool:
        """Whether the ``delete_*`` answers are exact counts rather than what was asked."""
        ...

    async def upsert(self, namespace: str, records: Sequence[VectorRecord]) -> int:
        """Write records, replacing any with the same id; returns how many were written."""
        ...

    async def delete_ids(self, namespace: str, ids: Sequence[str]) -> int:
        """Remove these ids."""
        ...

    async def delete_document(self, namespace: str, document_id: str) -> int:
        """Remove every passage of one document."""
        ...

    async def delete_all(self, namespace: str) -> int:
        """Remove the whole namespace."""
        ...

    async def vector_search(
        self, namespace: str, vector: Matrix, *, top_k: int, document_ids: Sequence[str] | None
    ) -> list[StoredMatch]:
        """Nearest passages by cosine similarity (score in [-1, 1], also as ``similarity``),
        best first."""
        ...

    async def keyword_search(
        self, namespace: str, query: str, *, top_k: int, document_ids: Sequence[str] | None
    ) -> list[StoredMatch]:
        """Passages matching the query's words, best first; empty when unsupported."""
        ...

    async def aclose(self) -> None:
        """Release clients."""
        ...
