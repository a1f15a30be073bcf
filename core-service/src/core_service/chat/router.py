"""``POST /api/v1/conversations/{id}/messages`` and its streaming variant."""

import uuid

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from chatsphere_kit.server_timing import record_duration
from chatsphere_kit.streaming import coalesced
from core_service.agent_client.dependencies import AgentDep
from core_service.auth.dependencies import AppSettings, CurrentUser
from core_service.chat import turn as chat_turn
from core_service.chat.schemas import ChatTurn
from core_service.chat.streaming import open_stream
from core_service.conversations.schemas import MessageCreate, TimingsRead
from core_service.database import SessionDep, SessionmakerDep

__all__ = ["router"]

router = APIRouter(prefix="/conversations/{conversation_id}/messages", tags=["chat"])


@router.post(
    "",
    responses={
        503: {"description": "The agent is unavailable; the message is kept and not counted."}
    },
)
async def send_message(
    conversation_id: uuid.UUID,
    body: MessageCreate,
    user: CurrentUser,
    session: SessionDep,
    settings: AppSettings,
    agent: AgentDep,
) -> ChatTurn:
    """Send a message and get the bot's answer with its citations."""
    turn = await chat_turn.take_turn(
        session,
        agent,
        user=user,
        conversation_id=conversation_id,
        content=body.content,
        settings=settings,
    )
    _record_agent_phases(turn.assistant_message.timings)
    return turn


def _record_agent_phases(timings: TimingsRead | None) -> None:
    """The agent's own phases join the response's ``Server-Timing`` next to its call."""
    if timings is not None:
        record_duration("retrieval", timings.retrieval_ms)
        record_duration("generation", timings.generation_ms)


@router.post(
    "/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Server-sent events."}},
)
async def stream_message(
    conversation_id: uuid.UUID,
    body: MessageCreate,
    user: CurrentUser,
    session: SessionDep,
    sessions: SessionmakerDep,
    settings: AppSettings,
    agent: AgentDep,
) -> StreamingResponse:
    """Send a message; the answer arrives as ``token``, ``citations`` and ``done`` events."""
    events = await open_stream(
        session,
        sessions,
        agent,
        user=user,
        conversation_id=conversation_id,
        content=body.content,
        settings=settings,
    )
    return StreamingResponse(
        coalesced(events),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
