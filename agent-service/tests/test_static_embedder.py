"""The shipped static model: semantic vectors with no torch and no download.

A paraphrase that shares no word with its passage is found and answered from it (the hashed
words cannot find it); a question about something else is still not answered.
"""

from typing import Any

import numpy as np

from agent_service.ingestion.static import StaticEmbedder

HOLIDAYS = "Employees get 25 days of paid holiday per year, plus public holidays."
PASSAGES = {
    "holidays": HOLIDAYS,
    "laptops": "Every engineer receives a laptop on the first day.",
    "parking": "The car park has 40 spaces; electric cars charge for free on level minus one.",
}
PARAPHRASE = "How much vacation time does staff get annually?"


async def test_vectors_are_unit_length_and_closer_for_a_paraphrase() -> None:
    embedder = StaticEmbedder()
    vectors = await embedder.embed_documents([HOLIDAYS, PASSAGES["parking"]])
    query = (await embedder.embed_query(PARAPHRASE))[0]
    assert (embedder.dimensions, vectors.shape) == (256, (2, 256))
    assert vectors.dtype == np.dtype(np.float32)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert float(vectors[0] @ query) > float(vectors[1] @ query) + 0.2


async def _chat(client: Any, auth: dict[str, str], namespace: str, message: str) -> Any:
    body = {"namespace": namespace, "message": message}
    answer = await client.post("/v1/chat", json=body, headers=auth)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_a_paraphrase_is_answered_from_its_passage(
    client_with: Any, auth: dict[str, str], namespace: str
) -> None:
    chunks = [{"id": key, "document_id": key, "text": text} for key, text in PASSAGES.items()]
    async with client_with(embedder="static") as client:
        upsert = {"namespace": namespace, "chunks": chunks}
        assert (await client.post("/v1/index/upsert", json=upsert, headers=auth)).is_success
        found = await _chat(client, auth, namespace, PARAPHRASE)
        # Not one word in common: the passage is found by meaning and its opening quoted.
        wordless = await _chat(
            client, auth, namespace, "When are developers handed a new computer?"
        )
        unrelated = await _chat(client, auth, namespace, "Who wrote Pride and Prejudice?")
        model = (await client.post("/v1/embeddings", json={"texts": ["x"]}, headers=auth)).json()
    assert found["answered"] is True
    assert [c["chunk_id"] for c in found["citations"]] == ["holidays"]
    assert "25 days of paid holiday" in found["answer"]
    assert wordless["answered"] is True
    assert [c["chunk_id"] for c in wordless["citations"]] == ["laptops"]
    assert "receives a laptop" in wordless["answer"]
    assert unrelated["answered"] is False
    assert (model["model"], model["dimensions"]) == ("static-minilm-256", 256)
