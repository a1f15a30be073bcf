"""Relaying the agent's server-sent events to the client, then storing the answer.

The user's message is committed before the stream starts. The assistant's message is written only
once the agent says ``done``, in its own short transaction that a client disconnect cannot cut in
half: a conversation holds either the whole answer or none of it.
"""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import asyncpg
import structlog
from pydantic import BaseModel, ValidationError

from chatsphere_contracts.v1 import (
    ChatResponse,
    Citation,
    StreamCitations,
    StreamDone,
    StreamError,
    StreamEventName,
    StreamToken,
    format_sse,
)
from core_service.agent_client.client import AgentClient, ServerSentEvent
from core_service.agent_client.exceptions import AgentRejected, AgentUnavailable
from core_service.chat import service as chat_service
from core_service.chat.schemas import StreamDoneMessage
from core_service.conversations.exceptions import ConversationNotFound
from core_service.database import DirectPool
from core_service.errors import DatabaseUnavailable

__all__ = ["relay_chat_stream"]

_log = structlog.get_logger(__name__)


@dataclass
class _Answer:
    parts: list[str] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    done: StreamDone | None = None


async def relay_chat_stream(
    agent: AgentClient,
    turn: chat_service.StartedTurn,
    *,
    pool: DirectPool,
) -> AsyncIterator[str]:
    """``token`` and ``citations`` events as they arrive, then ``done`` with the stored message.

    When the agent gives no complete answer, the message is given back to the month's quota.
    """
    answer = _Answer()
    agent_failed = False
    try:
        async with agent.chat_stream(turn.request) as events:
            async for event in events:
                relayed = _take(event, answer)
                if relayed is not None:
                    yield relayed
                if event.event == StreamEventName.ERROR:
                    agent_failed = True
                    break
    except (AgentUnavailable, AgentRejected) as error:
        agent_failed = True
        yield _error(error.code, error.detail)
    if agent_failed or answer.done is None:
        if not agent_failed:
            yield _error(
                AgentUnavailable.code, "The assistant stopped before finishing its answer."
            )
        await _refund(pool, turn)
        return
    # Shielded: once the answer is complete it is stored even if the client has gone.
    complete = ChatResponse(
        answer="".join(answer.parts),
        citations=answer.citations,
        usage=answer.done.usage,
        model=answer.done.model,
    )
    try:
        stored = await asyncio.shield(chat_service.store_answer(pool, turn=turn, answer=complete))
    except ConversationNotFound:
        yield _error("NotFound", "The conversation was deleted while the answer was written.")
        return
    except (asyncpg.PostgresError, DatabaseUnavailable):
        # The response has started: an exception would cut the stream without an event.
        _log.warning("answer_not_stored", exc_info=True)
        yield _error(DatabaseUnavailable.code, DatabaseUnavailable.detail)
        return
    yield _frame(StreamEventName.DONE, StreamDoneMessage(message=stored))


async def _refund(pool: DirectPool, turn: chat_service.StartedTurn) -> None:
    try:
        await chat_service.refund_turn(pool, turn=turn)
    except (asyncpg.PostgresError, DatabaseUnavailable):
        # The response has started: a failed refund is logged, not raised into the stream.
        _log.warning("quota_refund_failed", exc_info=True)


def _take(event: ServerSentEvent, answer: _Answer) -> str | None:
    """Record one agent event; the frame to send on, if any."""
    try:
        if event.event == StreamEventName.TOKEN:
            token = StreamToken.model_validate_json(event.data)
            answer.parts.append(token.delta)
            return format_sse(StreamEventName.TOKEN, token)
        if event.event == StreamEventName.CITATIONS:
            answer.citations = StreamCitations.model_validate_json(event.data).citations
            return format_sse(
                StreamEventName.CITATIONS, StreamCitations(citations=answer.citations)
            )
        if event.event == StreamEventName.DONE:
            answer.done = StreamDone.model_validate_json(event.data)
            return None
        if event.event == StreamEventName.ERROR:
            failure = StreamError.model_validate_json(event.data)
            _log.warning("agent_stream_error", error=failure.error, detail=failure.detail)
            return _error(AgentUnavailable.code, "The assistant failed while answering.")
    except ValidationError:
        _log.error("agent_stream_unexpected_event", event=event.event)
    return None


def _error(code: str, detail: str) -> str:
    return format_sse(StreamEventName.ERROR, StreamError(error=code, detail=detail))


def _frame(event: StreamEventName, payload: BaseModel) -> str:
    return f"event: {event.value}\ndata: {payload.model_dump_json()}\n\n"
