"""Server-sent events of ``/v1/chat/stream`` (and of core's relay)."""

from enum import StrEnum

from pydantic import Field

from chatsphere_contracts.v1._base import WireModel
from chatsphere_contracts.v1.chat import AnswerTimings, Citation, TokenUsage

__all__ = [
    "StreamCitations",
    "StreamDone",
    "StreamError",
    "StreamEventName",
    "StreamToken",
    "format_sse",
]


class StreamEventName(StrEnum):
    """The ``event:`` names, in the order they are sent."""

    TOKEN = "token"  # noqa: S105 - an event name, not a password
    CITATIONS = "citations"
    DONE = "done"
    ERROR = "error"


class StreamToken(WireModel):
    """``event: token``: the next piece of the answer."""

    delta: str = Field(description="Text to append.")


class StreamCitations(WireModel):
    """``event: citations``: the passages the answer used, after the last token."""

    citations: list[Citation] = Field(description="Passages the answer used.")


class StreamDone(WireModel):
    """``event: done`` from the agent: the totals of the finished answer."""

    usage: TokenUsage = Field(description="Token usage.")
    model: str = Field(description="Model that produced the answer.")
    answered: bool = Field(
        default=True, description="False when no passage was relevant enough to answer from."
    )
    timings: AnswerTimings | None = Field(
        default=None,
        description="Where the answer's time went; absent from agents that do not measure it.",
    )


class StreamError(WireModel):
    """``event: error``: the stream failed; nothing follows."""

    error: str = Field(description="Machine-readable code.")
    detail: str = Field(description="A sentence a person can read.")


def format_sse(event: StreamEventName, payload: WireModel) -> str:
    """One event in ``text/event-stream`` framing."""
    return f"event: {event.value}\ndata: {payload.model_dump_json()}\n\n"
