"""Relaying the agent's server-sent events to the client, then storing the answer.

The user's message is committed before the stream starts. The assistant's message is written only
once the agent says ``done``, counted and stored in its own short transaction that a client
disconnect cannot cut in half: a conversation holds either the whole, counted answer or none of it.
The ``citations`` event is sent once the answer is stored, with the citations it was stored with.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import asyncpg
import structlog
from pydantic import BaseModel, ValidationError
from sqlalchemy import ColumnElement
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

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
from core_service.bots.configuration import BotConfigurationUpdate
from core_service.chat import turn as chat_turn
from core_service.chat.schemas import StreamCitationsRead, StreamDoneMessage
from core_service.config import Settings
from core_service.conversations.exceptions import ConversationNotFound
from core_service.conversations.schemas import MessageRead
from core_service.errors import AppError, DatabaseUnavailable
from core_service.users.models import User

__all__ = ["open_stream"]

_log = structlog.get_logger(__name__)


@dataclass
class _Answer:
    parts: list[str] = field(default_factory=list)
    citations: list[Citation] | None = None
    done: StreamDone | None = None


@dataclass(frozen=True)
class _Finisher:
    """What storing the answer needs once the request's own session is gone."""

    sessions: async_sessionmaker[AsyncSession]
    user: User
    turn: chat_turn.StartedTurn


async def open_stream(
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    agent: AgentClient,
    *,
    user: User,
    conversation_id: uuid.UUID,
    content: str,
    settings: Settings,
    scope: ColumnElement[bool] | None = None,
    overrides: BotConfigurationUpdate | None = None,
) -> AsyncIterator[str]:
    """Start the turn in ``session`` (committed by the caller before the stream begins) and
    give the events to send; the answer is stored through ``sessions``. ``scope`` narrows the
    conversations the caller may use and ``overrides`` adjust the bot's configuration, as in
    ``start_turn``."""
    turn = await chat_turn.start_turn(
        session,
        user=user,
        conversation_id=conversation_id,
        content=content,
        settings=settings,
        scope=scope,
        overrides=overrides,
    )
    return _relay(agent, _Finisher(sessions=sessions, user=user, turn=turn))


async def _relay(agent: AgentClient, finisher: _Finisher) -> AsyncIterator[str]:
    """``token`` events as they arrive, then ``citations`` and ``done`` with the stored message."""
    answer = _Answer()
    agent_failed = False
    try:
        async with agent.chat_stream(finisher.turn.request) as events:
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
        return  # nothing was counted: an unanswered message costs nothing
    async for frame in _store(finisher, answer, answer.done):
        yield frame


async def _store(finisher: _Finisher, answer: _Answer, done: StreamDone) -> AsyncIterator[str]:
    complete = ChatResponse(
        answer="".join(answer.parts),
        citations=answer.citations or [],
        usage=done.usage,
        model=done.model,
        answered=done.answered,
        timings=done.timings,
    )
    try:
        # Shielded: once the answer is complete it is stored even if the client has gone.
        stored = await asyncio.shield(_finish(finisher, complete))
    except AppError as error:
        _log.warning("answer_not_stored", error=error.code)
        yield _error(error.code, _stream_detail(error))
        return
    except (SQLAlchemyError, asyncpg.PostgresError):
        # The response has started: an exception would cut the stream without an event.
        _log.warning("answer_not_stored", exc_info=True)
        yield _error(DatabaseUnavailable.code, DatabaseUnavailable.detail)
        return
    if answer.citations is not None:
        yield _frame(StreamEventName.CITATIONS, StreamCitationsRead(citations=stored.citations))
    yield _frame(StreamEventName.DONE, StreamDoneMessage(message=stored))


async def _finish(finisher: _Finisher, complete: ChatResponse) -> MessageRead:
    async with finisher.sessions.begin() as session:
        return await chat_turn.finish_turn(
            session, user=finisher.user, turn=finisher.turn, answer=complete
        )


def _stream_detail(error: AppError) -> str:
    if isinstance(error, ConversationNotFound):
        return "The conversation was deleted while the answer was written."
    return error.detail


def _take(event: ServerSentEvent, answer: _Answer) -> str | None:
    """Record one agent event; the frame to send on, if any."""
    try:
        if event.event == StreamEventName.TOKEN:
            token = StreamToken.model_validate_json(event.data)
            answer.parts.append(token.delta)
            return format_sse(StreamEventName.TOKEN, token)
        if event.event == StreamEventName.CITATIONS:
            # Sent on once the answer is stored, without the documents deleted meanwhile.
            answer.citations = StreamCitations.model_validate_json(event.data).citations
            return None
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
