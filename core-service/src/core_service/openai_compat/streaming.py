"""The owner's chat stream, translated into OpenAI's ``chat.completion.chunk`` events.

The turn's own stream (``chat.streaming.open_stream``) stays the one place that relays the agent
and stores the answer; this module only renames its events: ``token`` becomes a content delta,
``done`` the last chunk (with the stored citations) and, when asked, a usage chunk; ``error``
becomes OpenAI's in-stream error, which the SDKs raise as ``APIError``.
"""

import json
import time
from collections.abc import AsyncIterator
from typing import Any

from chatsphere_contracts.v1 import StreamEventName
from core_service.chat.schemas import StreamDoneMessage
from core_service.openai_compat.errors import openai_error
from core_service.openai_compat.schemas import (
    ChatCompletionChunk,
    ChunkChoice,
    ChunkDelta,
)
from core_service.openai_compat.service import usage_of

__all__ = ["ChunkStream", "openai_events"]

_DONE = "data: [DONE]\n\n"


class ChunkStream:
    """The chunks of one completion: same id, creation time and model on each."""

    def __init__(self, *, completion_id: str, model: str, include_usage: bool) -> None:
        self.completion_id = completion_id
        self.model = model
        self.include_usage = include_usage
        self.created = int(time.time())

    def chunk(self, delta: ChunkDelta, *, finished: bool = False) -> str:
        """One chunk of the message."""
        choice = ChunkChoice(delta=delta, finish_reason="stop" if finished else None)
        return self._event(ChatCompletionChunk(**self._common(), choices=[choice]))

    def done(self, payload: str) -> list[str]:
        """The last chunk (citations), the usage chunk if asked for, and ``[DONE]``."""
        message = StreamDoneMessage.model_validate_json(payload).message
        events = [self.chunk(ChunkDelta(citations=message.citations), finished=True)]
        if self.include_usage:
            usage = ChatCompletionChunk(**self._common(), choices=[], usage=usage_of(message))
            events.append(self._event(usage))
        return [*events, _DONE]

    def _common(self) -> dict[str, Any]:
        return {"id": self.completion_id, "created": self.created, "model": self.model}

    @staticmethod
    def _event(chunk: ChatCompletionChunk) -> str:
        return f"data: {chunk.model_dump_json()}\n\n"


async def openai_events(frames: AsyncIterator[str], stream: ChunkStream) -> AsyncIterator[str]:
    """OpenAI's events for the turn's ``frames`` (each one whole ``event:``/``data:`` frame)."""
    yield stream.chunk(ChunkDelta(role="assistant", content=""))
    async for frame in frames:
        event, payload = _parse(frame)
        if event == StreamEventName.TOKEN:
            yield stream.chunk(ChunkDelta(content=json.loads(payload)["delta"]))
        elif event == StreamEventName.DONE:
            for done in stream.done(payload):
                yield done
        elif event == StreamEventName.ERROR:
            failure = json.loads(payload)
            body = openai_error(500, failure["error"], failure["detail"])
            yield f"data: {json.dumps(body)}\n\n"
            return


def _parse(frame: str) -> tuple[str, str]:
    """The event name and data of one frame of the turn's stream."""
    event = data = ""
    for line in frame.splitlines():
        if line.startswith("event: "):
            event = line.removeprefix("event: ")
        elif line.startswith("data: "):
            data = line.removeprefix("data: ")
    return event, data
