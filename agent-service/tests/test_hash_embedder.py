"""The default lexical embedder: deterministic, normalised, similar when words are shared."""

import json
import subprocess
import sys

import numpy as np

from agent_service.ingestion.embedders import HashEmbedder
from agent_service.ingestion.text import content_terms, stem


async def test_vectors_are_unit_length_and_of_the_configured_dimension() -> None:
    embedder = HashEmbedder(256)
    vectors = await embedder.embed_documents(["The quick brown fox", "of the", "!!!"])
    assert vectors.shape == (3, 256)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)


async def test_shared_words_make_texts_similar() -> None:
    embedder = HashEmbedder()
    query = (await embedder.embed_query("How do I reset my password?"))[0]
    related, unrelated = await embedder.embed_documents(
        ["To reset a forgotten password, open the settings page.", "Bananas grow in bunches."]
    )
    assert float(query @ related) > 0.3
    assert abs(float(query @ unrelated)) < 0.1


def test_word_forms_meet_after_normalisation() -> None:
    assert content_terms("Créer: the Files were CREATED") == content_terms("creer file creates")
    assert {stem(word) for word in ("sorting", "sorted", "sorts", "sort")} == {"sort"}


def test_vectors_are_the_same_in_another_process() -> None:
    text = "Reciprocal rank fusion merges rankings"
    here = HashEmbedder(128).embed_sync([text])[0]
    script = (
        "import json, sys; from agent_service.ingestion.embedders import HashEmbedder;"
        f"print(json.dumps(HashEmbedder(128).embed_sync([{text!r}])[0].tolist()))"
    )
    env = {"PYTHONHASHSEED": "12345"}
    output = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-c", script], capture_output=True, check=True, text=True, env=env
    ).stdout
    assert np.allclose(np.array(json.loads(output), dtype=np.float32), here)
