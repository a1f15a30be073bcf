"""The embedder interface and the default lexical embedder."""

import asyncio
import hashlib
import math
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache
from typing import Protocol

import numpy as np
import numpy.typing as npt

from agent_service.ingestion.text import content_terms, words

__all__ = ["Embedder", "HashEmbedder", "Matrix", "lexical_features", "term_features"]

Matrix = npt.NDArray[np.float32]
"""One row per text, L2-normalised."""


class Embedder(Protocol):
    """Turns texts into fixed-length vectors; documents and queries may be embedded differently."""

    @property
    def model(self) -> str:
        """Name of the model, reported to callers."""
        ...

    @property
    def dimensions(self) -> int:
        """Length of every vector."""
        ...

    async def embed_documents(self, texts: Sequence[str]) -> Matrix:
        """Vectors for passages to be indexed, in input order."""
        ...

    async def embed_query(self, text: str) -> Matrix:
        """The vector of a search query, as a one-row matrix."""
        ...

    async def aclose(self) -> None:
        """Release clients and models."""
        ...


_BIGRAM_WEIGHT = 0.5


def lexical_features(text: str) -> Counter[str]:
    """Weighted uni- and bi-grams of the content words; bigrams count half, to favour words."""
    # A text of stopwords only still needs a direction: a zero vector has no cosine similarity.
    return term_features(content_terms(text) or words(text) or ["<empty>"])


def term_features(terms: Sequence[str]) -> Counter[str]:
    """``lexical_features`` of terms already found."""
    features: Counter[str] = Counter(terms)
    for first, second in zip(terms, terms[1:], strict=False):
        features[f"{first} {second}"] += 1
    return features


@lru_cache(maxsize=262_144)
def _slot(feature: str, dimensions: int) -> tuple[int, float]:
    # blake2b, unlike hash(), is the same in every process, so vectors are stable across replicas.
    digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
    value = int.from_bytes(digest, "little")
    return value % dimensions, (1.0 if (value >> 63) & 1 else -1.0)


class HashEmbedder:
    """Feature hashing of normalised word uni- and bi-grams with sublinear tf weights.

    Needs no model and no network; two texts are similar when they share words.
    """

    def __init__(self, dimensions: int = 1024) -> None:
        self._dimensions = dimensions

    @property
    def model(self) -> str:
        """``hash-<dimensions>``."""
        return f"hash-{self._dimensions}"

    @property
    def dimensions(self) -> int:
        """Length of every vector."""
        return self._dimensions

    def embed_sync(self, texts: Sequence[str]) -> Matrix:
        """Vectors of ``texts``; cheap enough to run on the event loop for a single query."""
        matrix = np.zeros((len(texts), self._dimensions), dtype=np.float32)
        for row, text in enumerate(texts):
            for feature, count in lexical_features(text).items():
                weight = 1.0 + math.log(count)
                if " " in feature:
                    weight *= _BIGRAM_WEIGHT
                slot, sign = _slot(feature, self._dimensions)
                matrix[row, slot] += sign * weight
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        normalised: Matrix = (matrix / np.where(norms == 0.0, 1.0, norms)).astype(np.float32)
        return normalised

    async def embed_documents(self, texts: Sequence[str]) -> Matrix:
        """Vectors for passages, in input order (in a thread: batches can be large)."""
        return await asyncio.to_thread(self.embed_sync, texts)

    async def embed_query(self, text: str) -> Matrix:
        """The vector of a query."""
        return self.embed_sync([text])

    async def aclose(self) -> None:
        """Nothing to release."""
