"""Provider metrics without touching the providers: an embedder wrapper and a LangChain callback.

``instrument_embedder(build_embedder(settings), provider)`` times every embedding call;
``LlmMetricsCallback(provider)`` in a chat model's ``callbacks`` times every generation (the
whole stream when streaming) and counts its tokens from LangChain's ``usage_metadata``.
"""

import time
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, LLMResult

from agent_service.ingestion.embedders import Embedder, Matrix
from agent_service.observability.metrics import EMBEDDING_DURATION, LLM_DURATION, LLM_TOKENS

__all__ = [
    "InstrumentedEmbedder",
    "LlmMetricsCallback",
    "instrument_embedder",
    "record_generation",
]


class InstrumentedEmbedder:
    """An ``Embedder`` that records how long each call to the wrapped one takes."""

    def __init__(self, inner: Embedder, *, provider: str) -> None:
        self.inner = inner
        self._duration = EMBEDDING_DURATION.labels(provider=provider)

    @property
    def model(self) -> str:
        """Name of the wrapped model."""
        return self.inner.model

    @property
    def dimensions(self) -> int:
        """Length of every vector."""
        return self.inner.dimensions

    async def embed_documents(self, texts: Sequence[str]) -> Matrix:
        """The wrapped embedder's vectors, timed."""
        with self._duration.time():
            return await self.inner.embed_documents(texts)

    async def embed_query(self, text: str) -> Matrix:
        """The wrapped embedder's query vector, timed."""
        with self._duration.time():
            return await self.inner.embed_query(text)

    async def aclose(self) -> None:
        """Release the wrapped embedder."""
        await self.inner.aclose()


def instrument_embedder(inner: Embedder, provider: str) -> Embedder:
    """``inner``, timed under ``chatsphere_agent_embedding_duration_seconds{provider}``."""
    return InstrumentedEmbedder(inner, provider=provider)


class LlmMetricsCallback(BaseCallbackHandler):
    """Times generations and counts their tokens, per provider."""

    # Two dictionary operations and a metric update: cheaper inline than in a thread.
    run_inline = True

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self._started: dict[UUID, float] = {}

    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[BaseMessage]],
        *,
        run_id: UUID,
        **kwargs: Any,
    ) -> None:
        """Remember when this generation started."""
        self._started[run_id] = time.perf_counter()

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        """Record the duration and the tokens in and out."""
        self._observe_duration(run_id)
        _count_tokens(self.provider, *_token_counts(response))

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        """A failed generation still took time."""
        self._observe_duration(run_id)

    def _observe_duration(self, run_id: UUID) -> None:
        started = self._started.pop(run_id, None)
        if started is not None:
            LLM_DURATION.labels(provider=self.provider).observe(time.perf_counter() - started)


def record_generation(provider: str, seconds: float, usage: UsageMetadata | None) -> None:
    """One generation read without LangChain: its duration and the tokens it reported."""
    LLM_DURATION.labels(provider=provider).observe(seconds)
    if usage:
        _count_tokens(provider, usage["input_tokens"], usage["output_tokens"])


def _count_tokens(provider: str, input_tokens: int, output_tokens: int) -> None:
    LLM_TOKENS.labels(provider=provider, direction="input").inc(input_tokens)
    LLM_TOKENS.labels(provider=provider, direction="output").inc(output_tokens)


def _token_counts(response: LLMResult) -> tuple[int, int]:
    """Input and output tokens that the provider reported (0 when it reported none)."""
    input_tokens = output_tokens = 0
    for generations in response.generations:
        for generation in generations:
            if isinstance(generation, ChatGeneration):
                usage = getattr(generation.message, "usage_metadata", None) or {}
                input_tokens += int(usage.get("input_tokens", 0))
                output_tokens += int(usage.get("output_tokens", 0))
    return input_tokens, output_tokens
