"""Weighted reciprocal rank fusion: the vector ranking may count more than the full-text one,
and the fused score stays in [0, 1] (1.0 = first in both rankings) whatever the weight."""

from typing import Any

import pytest

from agent_service.retrieval.hybrid import reciprocal_rank_fusion
from agent_service.retrieval.store import StoredMatch


def _ranking(*ids: str) -> list[StoredMatch]:
    return [StoredMatch(id=id_, document_id=id_, text=id_, score=0.0) for id_ in ids]


def test_a_heavier_vector_ranking_prefers_the_passage_it_ranks_first() -> None:
    # "meaning" is first by meaning and fifth by words; "word" first by words, fourth by meaning.
    by_vector = _ranking("meaning", "x", "y", "word")
    by_words = _ranking("word", "a", "b", "c", "meaning")
    equal = reciprocal_rank_fusion([by_vector, by_words], k=60)
    weighted = reciprocal_rank_fusion([by_vector, by_words], k=60, weights=[3.0, 1.0])
    assert [m.id for m in equal[:2]] == ["word", "meaning"]
    assert [m.id for m in weighted[:2]] == ["meaning", "word"]


def test_first_in_both_rankings_scores_one_whatever_the_weight() -> None:
    for weights in ([1.0, 1.0], [2.0, 1.0], [5.0, 1.0]):
        fused = reciprocal_rank_fusion([_ranking("a", "b"), _ranking("a")], k=60, weights=weights)
        assert fused[0].score == pytest.approx(1.0)
        assert all(0.0 < match.score <= 1.0 for match in fused)


def test_weights_must_be_one_positive_per_ranking() -> None:
    with pytest.raises(ValueError, match="one positive weight"):
        reciprocal_rank_fusion([_ranking("a"), _ranking("a")], k=60, weights=[1.0])
    with pytest.raises(ValueError, match="one positive weight"):
        reciprocal_rank_fusion([_ranking("a"), _ranking("a")], k=60, weights=[0.0, 1.0])


async def test_the_setting_weighs_a_passage_found_by_meaning_alone(
    client_with: Any, auth: dict[str, str], namespace: str
) -> None:
    chunks = [{"id": "a", "document_id": "d1", "text": "solar panels produce electricity"}]
    scores = []
    for weight in (1.0, 3.0):
        async with client_with(embedder="static", hybrid_vector_weight=weight) as client:
            upsert = {"namespace": namespace, "chunks": chunks}
            assert (await client.post("/v1/index/upsert", json=upsert, headers=auth)).is_success
            body = {"namespace": namespace, "query": "renewable power from sunlight"}
            found = await client.post("/v1/retrieve", json=body, headers=auth)
        scores.append(found.json()["matches"][0]["score"])
    # No word in common: only the vector ranking has it, first, so it scores w / (w + 1).
    assert scores == [pytest.approx(0.5), pytest.approx(0.75)]
