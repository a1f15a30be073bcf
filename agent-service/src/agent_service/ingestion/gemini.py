"""Gemini embeddings through langchain-google-genai, batched within the API's limit."""

import asyncio
from collections.abc import Sequence
from functools import partial

import numpy as np
from langchain_google_genai import GoogleGenerativeAIEmbeddings
from pydantic import SecretStr

from agent_service.gemini_transport import gemini_client_args
from agent_service.ingestion.embedders import Matrix
from agent_service.ingestion.retry import CallPolicy

__all__ = ["GEMINI_MAX_BATCH", "GeminiEmbedder"]

GEMINI_MAX_BATCH = 100
"""``batchEmbedContents`` takes at most 100 texts per request."""


class GeminiEmbedder:
    """``gemini-embedding-001`` (or another Gemini model) at 768 or 1536 dimensions."""

    def __init__(
        self,
        *,
        api_key: SecretStr,
        model: str,
        dimensions: int,
        policy: CallPolicy,
        batch_size: int = GEMINI_MAX_BATCH,
        base_url: str | None = None,
        concurrency: int = 4,
    ) -> None:
        self._client = GoogleGenerativeAIEmbeddings(
            model=model,
            google_api_key=api_key,
            output_dimensionality=dimensions,
            base_url=base_url,
            client_args=gemini_client_args(),
        )
        self._concurrency = concurrency
        self._model = model
        self._dimensions = dimensions
        self._policy = policy
        self._batch_size = min(batch_size, GEMINI_MAX_BATCH)

    @property
    def model(self) -> str:
        """The Gemini model name."""
        return self._model

    @property
    def dimensions(self) -> int:
        """The requested output dimensionality."""
        return self._dimensions

    async def embed_documents(self, texts: Sequence[str]) -> Matrix:
        """One request per batch of at most 100 texts, each retried on 429/5xx."""
        batches = [
            list(texts[start : start + self._batch_size])
            for start in range(0, len(texts), self._batch_size)
        ]
        # Batches wait on the network, not on us: a large document's batches go out together,
        # bounded so that one document does not take the provider's whole rate allowance. The
        # bound is per request: shared by the process, it held every other document's batches
        # behind it, and the worker's jobs in flight no longer reached the embedder at once.
        slots = asyncio.Semaphore(self._concurrency)
        answers = await asyncio.gather(*(self._bounded_batch(slots, batch) for batch in batches))
        rows = [row for answer in answers for row in answer]
        return _normalised(rows, self._dimensions)

    async def _bounded_batch(self, slots: asyncio.Semaphore, batch: list[str]) -> list[list[float]]:
        async with slots:
            return await self._policy.call(partial(self._embed_batch, batch))

    async def embed_query(self, text: str) -> Matrix:
        """The query vector (task type ``RETRIEVAL_QUERY``)."""
        row = await self._policy.call(lambda: self._client.aembed_query(text))
        return _normalised([row], self._dimensions)

    async def _embed_batch(self, batch: list[str]) -> list[list[float]]:
        return await self._client.aembed_documents(batch, batch_size=len(batch))

    async def aclose(self) -> None:
        """The google-genai client holds no resources that need closing here."""


def _normalised(rows: list[list[float]], dimensions: int) -> Matrix:
    # Gemini normalises only its full 3072-dimension output; cosine needs no more, but callers
    # of /v1/embeddings are promised unit vectors from every embedder.
    matrix = np.asarray(rows, dtype=np.float32).reshape(len(rows), dimensions)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    normalised: Matrix = (matrix / np.where(norms == 0.0, 1.0, norms)).astype(np.float32)
    return normalised
