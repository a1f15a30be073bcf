"""What every answer path produces: text pieces, then one closing summary."""

import math
import re
import time
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from langchain_core.messages import AIMessage, AnyMessage, BaseMessage, HumanMessage

from agent_service.retrieval.store import StoredMatch
from chatsphere_contracts.v1 import AnswerTimings, ChatRequest, ChatRole, Citation, TokenUsage

__all__ = [
    "AnswerClock",
    "AnswerComplete",
    "AnswerEvent",
    "AnswerStream",
    "cited_numbers",
    "citation_for",
    "citations_for_answer",
    "estimate_tokens",
    "history_messages",
    "numbered_passages",
    "usage_of",
]

_SNIPPET_CHARS = 300
_MARKER = re.compile(r"\[(\d{1,3})\]")


@dataclass(frozen=True, slots=True)
class AnswerComplete:
    """Sent once, after the last piece of text."""

    citations: list[Citation]
    usage: TokenUsage
    model: str
    answered: bool = True
    timings: AnswerTimings | None = None


@dataclass(slots=True)
class AnswerClock:
    """Where one answer's time goes, measured where it happens: the searches time themselves
    with ``retrieving``, the answer stream marks its first piece."""

    started: float = field(default_factory=time.perf_counter)
    retrieval_s: float = 0.0
    first_piece_at: float | None = None

    @asynccontextmanager
    async def retrieving(self) -> AsyncIterator[None]:
        """Counts the time inside as retrieval (searches may run more than once, as in react)."""
        began = time.perf_counter()
        try:
            yield
        finally:
            self.retrieval_s += time.perf_counter() - began

    def first_piece(self) -> None:
        """Marks the first piece of the answer (later calls change nothing)."""
        if self.first_piece_at is None:
            self.first_piece_at = time.perf_counter()

    def timings(self) -> AnswerTimings:
        """The figures so far, in milliseconds; called when the answer is complete."""
        now = time.perf_counter()
        total_s = now - self.started
        first_s = (self.first_piece_at or now) - self.started
        return AnswerTimings(
            retrieval_ms=_ms(self.retrieval_s),
            first_token_ms=_ms(first_s),
            generation_ms=_ms(max(total_s - self.retrieval_s, 0.0)),
            total_ms=_ms(total_s),
        )


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


AnswerEvent = str | AnswerComplete
"""A piece of answer text, or the closing summary."""
AnswerStream = AsyncGenerator[AnswerEvent, None]


def estimate_tokens(text: str) -> int:
    """About four characters a token: used where the provider does not count."""
    return math.ceil(len(text) / 4)


def citation_for(match: StoredMatch, snippet: str | None = None) -> Citation:
    """A citation of a passage, with the part quoted (or its beginning)."""
    text = snippet if snippet is not None else match.text
    if len(text) > _SNIPPET_CHARS:
        text = text[: _SNIPPET_CHARS - 1].rstrip() + "…"
    score = min(max(match.score, 0.0), 1.0)
    return Citation(chunk_id=match.id, document_id=match.document_id, score=score, snippet=text)


def numbered_passages(matches: Sequence[StoredMatch], *, start: int = 1) -> str:
    """Passages as the model sees them: ``[n] text``, so that it can cite by number."""
    return "\n\n".join(f"[{n}] {match.text}" for n, match in enumerate(matches, start=start))


def cited_numbers(answer: str, available: int) -> list[int]:
    """The passage numbers an answer cites with ``[n]``, in order of first use."""
    seen: list[int] = []
    for found in _MARKER.findall(answer):
        number = int(found)
        if 1 <= number <= available and number not in seen:
            seen.append(number)
    return seen


def citations_for_answer(answer: str, passages: Sequence[StoredMatch]) -> list[Citation]:
    """The passages the answer cites by number; all given passages when it cites none."""
    numbers = cited_numbers(answer, len(passages)) or range(1, len(passages) + 1)
    return [citation_for(passages[number - 1]) for number in numbers]


def history_messages(request: ChatRequest) -> list[AnyMessage]:
    """The conversation so far as LangChain messages, oldest first."""
    return [
        HumanMessage(turn.content) if turn.role is ChatRole.USER else AIMessage(turn.content)
        for turn in request.history
    ]


def usage_of(
    total: AIMessage | None, *, fallback_input: Sequence[BaseMessage], answer: str
) -> TokenUsage:
    """The provider's token counts, or estimates where it sent none."""
    usage = total.usage_metadata if total is not None else None
    if usage:
        return TokenUsage(input_tokens=usage["input_tokens"], output_tokens=usage["output_tokens"])
    prompt = "".join(str(message.content) for message in fallback_input)
    return TokenUsage(input_tokens=estimate_tokens(prompt), output_tokens=estimate_tokens(answer))
