"""A static embedding model shipped with the agent: semantic vectors without torch or a GPU.

model2vec distils a sentence transformer into one vector per token; a text's vector is the
mean of its tokens'. It finds paraphrases the hashed words cannot (see BENCHMARKS.md) at
tens of thousands of sentences a second on one core, from a 7.6 MB file in this package
(``static_model/ABOUT.md`` says how it was made). Nothing is downloaded at run time.
"""

import asyncio
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from model2vec import StaticModel

from agent_service.ingestion.embedders import Matrix

__all__ = ["SHIPPED_STATIC_MODEL", "StaticEmbedder"]

SHIPPED_STATIC_MODEL = Path(__file__).resolve().parent / "static_model"
# Above this many texts, encoding moves to a thread so that the event loop keeps serving.
_INLINE_TEXTS = 16


class StaticEmbedder:
    """256-dimension vectors from the shipped static model (or another model2vec folder)."""

    def __init__(self, model_path: Path = SHIPPED_STATIC_MODEL) -> None:
        self._model = StaticModel.from_pretrained(model_path, force_download=False)

    @property
    def model(self) -> str:
        """The shipped model's name."""
        return "static-minilm-256"

    @property
    def dimensions(self) -> int:
        """The model's dimensions (256 for the shipped one)."""
        return int(self._model.dim)

    async def embed_documents(self, texts: Sequence[str]) -> Matrix:
        """Vectors of passages."""
        if len(texts) <= _INLINE_TEXTS:
            return self._encode(list(texts))
        return await asyncio.to_thread(self._encode, list(texts))

    async def embed_query(self, text: str) -> Matrix:
        """The query vector."""
        return self._encode([text])

    def _encode(self, texts: list[str]) -> Matrix:
        vectors = self._model.encode(texts)
        matrix: Matrix = np.asarray(vectors, dtype=np.float32)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        # A text of unknown tokens only has no direction; it stays the zero vector.
        normalised: Matrix = (matrix / np.where(norms == 0.0, 1.0, norms)).astype(np.float32)
        return normalised

    async def aclose(self) -> None:
        """Nothing to release."""
