"""A model's answer read as text pieces while it is written.

Two readers give the same pieces and usage. ``langchain_text_stream`` goes through the LangChain
chat model (every provider). ``OpenAITextStream`` reads an OpenAI-compatible server's
server-sent events itself: the SDK's client still sends the request (with its retries and its
errors), but each event is read as plain JSON. Through LangChain, every token of every stream
became an SDK model object, a message chunk and a round of callbacks; with many long answers at
once that was most of the agent's CPU (BENCHMARKS.md, "Streaming without per-token objects").
"""

import json
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.ai import UsageMetadata, add_usage
from openai import APIError, AsyncOpenAI
from openai.types.chat import ChatCompletionMessageParam

from agent_service.observability.instrumentation import record_generation

__all__ = ["OpenAITextStream", "StreamedText", "TextStream", "langchain_text_stream"]


@dataclass(slots=True)
class StreamedText:
    """A streamed answer's text and token counts, kept as the pieces come.

    Adding LangChain chunks up (``merged + chunk``) would build a new message per token and copy
    the whole text so far each time: the cost of a token would grow with the answer.
    """

    pieces: list[str] = field(default_factory=list)
    usage: UsageMetadata | None = None

    def add_chunk(self, chunk: AIMessageChunk) -> str:
        """Keep a LangChain chunk; its text."""
        if chunk.usage_metadata:
            # Summed as LangChain sums chunks: some providers report usage in pieces.
            self.usage = add_usage(self.usage, chunk.usage_metadata)
        text = chunk.text
        if text:
            self.pieces.append(text)
        return text

    def message(self) -> AIMessage:
        """The whole answer as one message."""
        return AIMessage(content="".join(self.pieces), usage_metadata=self.usage)


TextStream = Callable[[Sequence[BaseMessage], StreamedText], AsyncIterator[str]]
"""Streams the answer to ``messages`` as text pieces, keeping them (and the usage) in the
``StreamedText`` given."""


def langchain_text_stream(model: BaseChatModel) -> TextStream:
    """The answer through the LangChain chat model's own streaming."""

    async def stream(messages: Sequence[BaseMessage], into: StreamedText) -> AsyncIterator[str]:
        async for chunk in model.astream(list(messages)):
            if text := into.add_chunk(chunk):
                yield text

    return stream


class OpenAITextStream:
    """The answer from an OpenAI-compatible server's Chat Completions stream, read directly."""

    def __init__(
        self, client: AsyncOpenAI, *, model: str, temperature: float, provider: str
    ) -> None:
        self._client = client
        self._model = model
        self._temperature = temperature
        self._provider = provider

    async def __call__(
        self, messages: Sequence[BaseMessage], into: StreamedText
    ) -> AsyncIterator[str]:
        """Text pieces as the server sends them; the usage is kept when it reports it."""
        started = time.perf_counter()
        try:
            async with self._client.chat.completions.with_streaming_response.create(
                model=self._model,
                messages=[_wire_message(message) for message in messages],
                temperature=self._temperature,
                stream=True,
                stream_options={"include_usage": True},
            ) as response:
                async for data in _event_data(response.iter_lines()):
                    # Read on past the end mark: a response read to its end keeps its connection.
                    if data.startswith("[DONE]"):
                        continue
                    if text := _take(json.loads(data), into, response.http_request):
                        yield text
        finally:
            record_generation(self._provider, time.perf_counter() - started, into.usage)


def _wire_message(message: BaseMessage) -> ChatCompletionMessageParam:
    # The answer's messages are the system prompt, the history and the question.
    if message.type == "system":
        return {"role": "system", "content": message.text}
    if message.type == "ai":
        return {"role": "assistant", "content": message.text}
    return {"role": "user", "content": message.text}


async def _event_data(lines: AsyncIterator[str]) -> AsyncIterator[str]:
    """The ``data`` of each server-sent event (its lines joined, as the format defines)."""
    data: list[str] = []
    async for line in lines:
        if line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
        elif not line and data:
            yield "\n".join(data)
            data = []
    if data:
        yield "\n".join(data)


def _take(chunk: Any, into: StreamedText, request: Any) -> str:
    """Keep one chunk's text and usage; its text. A chunk carrying an error raises it, as the
    SDK's own reader does."""
    if not isinstance(chunk, dict):
        return ""
    if error := chunk.get("error"):
        message = error.get("message") if isinstance(error, dict) else None
        raise APIError(message or "The model failed while streaming.", request, body=error)
    if usage := chunk.get("usage"):
        into.usage = UsageMetadata(
            input_tokens=usage.get("prompt_tokens", 0),
            output_tokens=usage.get("completion_tokens", 0),
            total_tokens=usage.get("total_tokens", 0),
        )
    text = "".join(
        choice["delta"].get("content") or ""
        for choice in chunk.get("choices") or ()
        if isinstance(choice.get("delta"), dict)
    )
    if text:
        into.pieces.append(text)
    return text
