"""Hybrid retrieval: vector and full-text rankings fused with reciprocal rank fusion."""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from agent_service.ingestion.embedders import Embedder, Matrix
from agent_service.retrieval.store import StoredMatch, VectorStore

__all__ = ["CONTEXT_WEIGHT", "Retriever", "reciprocal_rank_fusion"]

CONTEXT_WEIGHT = 0.5
"""How much the conversation's earlier questions count in a query, against 1 for the new one."""


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[StoredMatch]],
    *,
    k: int,
    weights: Sequence[float] | None = None,
) -> list[StoredMatch]:
    """Fuse rankings by ``Σ weight/(k + rank)``, scaled so that first in every ranking scores
    1.0 whatever the weights (equal weights when none are given)."""
    weights = [1.0] * len(rankings) if weights is None else list(weights)
    if len(weights) != len(rankings) or any(weight <= 0.0 for weight in weights):
        raise ValueError("one positive weight per ranking")
    fused: dict[str, float] = {}
    first_seen: dict[str, StoredMatch] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, match in enumerate(ranking, start=1):
            fused[match.id] = fused.get(match.id, 0.0) + weight / (k + rank)
            first_seen.setdefault(match.id, match)
    best_possible = sum(weights) / (k + 1)
    ordered = sorted(fused.items(), key=lambda item: (-item[1], item[0]))
    return [replace(first_seen[id_], score=score / best_possible) for id_, score in ordered]


@dataclass(frozen=True, slots=True)
class Retriever:
    """Finds the passages of a namespace that best answer a query."""

    embedder: Embedder
    store: VectorStore
    hybrid: bool = True
    candidates: int = 50
    rrf_k: int = 60
    vector_weight: float = 1.0
    """Weight of the vector ranking in the fusion, against 1 for the full-text one."""
    min_similarity: float = 0.3

    async def retrieve(
        self,
        namespace: str,
        query: str,
        *,
        top_k: int,
        context: str | None = None,
        min_score: float | None = None,
        document_ids: Sequence[str] | None = None,
    ) -> list[StoredMatch]:
        """Best ``top_k`` passages, scores in [0, 1], best first.

        ``context`` (the conversation's earlier questions) joins the query at a lower weight,
        so that a follow-up such as "and when is it skipped?" finds the topic it refers to
        while a new topic still outranks the old one.
        """
        fused = self.hybrid and self.store.supports_keyword_search
        # Only fusion needs more candidates than the answer holds.
        pool_size = max(top_k, self.candidates) if fused else top_k
        by_vector = self._by_vector(namespace, query, context, pool_size, document_ids)
        if fused:
            words = f"{query} {context}" if context else query
            # Both searches at once, on two connections: each mostly waits for its round trip
            # (and the vector one first for the embedder, which may be a remote call).
            vector_ranking, by_words = await asyncio.gather(
                by_vector,
                self.store.keyword_search(
                    namespace, words, top_k=pool_size, document_ids=document_ids
                ),
            )
            matches = _fuse(
                vector_ranking, by_words, k=self.rrf_k, vector_weight=self.vector_weight
            )
        else:
            matches = [_at_most_one(match) for match in await by_vector]
        if min_score is not None:
            matches = [match for match in matches if match.score >= min_score]
        return matches[:top_k]

    def is_relevant(self, match: StoredMatch) -> bool:
        """Whether a passage may ground an answer: it shares words with the query, or its
        meaning is close enough (``min_similarity``, calibrated per embedder)."""
        return match.shares_words or (match.similarity or 0.0) >= self.min_similarity

    async def _by_vector(
        self,
        namespace: str,
        query: str,
        context: str | None,
        pool_size: int,
        document_ids: Sequence[str] | None,
    ) -> list[StoredMatch]:
        vector = await self._query_vector(query, context)
        found = await self.store.vector_search(
            namespace, vector, top_k=pool_size, document_ids=document_ids
        )
        # A similarity of zero or less means nothing in common: not a candidate at all.
        return [match for match in found if match.score > 0.0]

    async def _query_vector(self, query: str, context: str | None) -> Matrix:
        vector: Matrix = (await self.embedder.embed_query(query))[0]
        if not context:
            return vector
        combined: Matrix = vector + CONTEXT_WEIGHT * (await self.embedder.embed_query(context))[0]
        norm = float(np.linalg.norm(combined))
        return (combined / norm).astype(np.float32) if norm else vector


def _at_most_one(match: StoredMatch) -> StoredMatch:
    """Rounding can put a cosine similarity a hair above 1."""
    return match if match.score <= 1.0 else replace(match, score=1.0)


def _fuse(
    by_vector: Sequence[StoredMatch],
    by_words: Sequence[StoredMatch],
    *,
    k: int,
    vector_weight: float,
) -> list[StoredMatch]:
    """RRF of both rankings, each fused match keeping its similarity and word-match flag."""
    similarity = {match.id: match.similarity for match in by_vector}
    worded = {match.id for match in by_words}
    return [
        replace(match, similarity=similarity.get(match.id), shares_words=match.id in worded)
        for match in reciprocal_rank_fusion(
            [by_vector, by_words], k=k, weights=[vector_weight, 1.0]
        )
    ]
