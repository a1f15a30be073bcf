"""Hybrid retrieval: vector and full-text rankings fused with reciprocal rank fusion."""

from collections.abc import Sequence
from dataclasses import dataclass, replace

from agent_service.ingestion.embedders import Embedder
from agent_service.retrieval.store import StoredMatch, VectorStore

__all__ = ["Retriever", "reciprocal_rank_fusion"]


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[StoredMatch]], *, k: int
) -> list[StoredMatch]:
    """Fuse rankings by ``Σ 1/(k + rank)``, scaled so that first in every ranking scores 1.0."""
    fused: dict[str, float] = {}
    first_seen: dict[str, StoredMatch] = {}
    for ranking in rankings:
        for rank, match in enumerate(ranking, start=1):
            fused[match.id] = fused.get(match.id, 0.0) + 1.0 / (k + rank)
            first_seen.setdefault(match.id, match)
    best_possible = len(rankings) / (k + 1)
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

    async def retrieve(
        self,
        namespace: str,
        query: str,
        *,
        top_k: int,
        min_score: float | None = None,
        document_ids: Sequence[str] | None = None,
    ) -> list[StoredMatch]:
        """Best ``top_k`` passages, scores in [0, 1], best first."""
        pool_size = max(top_k, self.candidates)
        vector = (await self.embedder.embed_query(query))[0]
        by_vector = await self.store.vector_search(
            namespace, vector, top_k=pool_size, document_ids=document_ids
        )
        # A similarity of zero or less means nothing in common: not a candidate at all.
        by_vector = [match for match in by_vector if match.score > 0.0]
        if self.hybrid and self.store.supports_keyword_search:
            by_words = await self.store.keyword_search(
                namespace, query, top_k=pool_size, document_ids=document_ids
            )
            matches = reciprocal_rank_fusion([by_vector, by_words], k=self.rrf_k)
        else:
            matches = [replace(match, score=min(match.score, 1.0)) for match in by_vector]
        if min_score is not None:
            matches = [match for match in matches if match.score >= min_score]
        return matches[:top_k]
