"""``POST /api/v1/conversations/{id}/messages`` and its streaming variant."""

import uuid

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from core_service.agent_client.dependencies import AgentDep
from core_service.auth.dependencies import AppSettings, CurrentUser
from core_service.chat import turn as chat_turn
from core_service.chat.schemas import ChatTurn
from core_service.chat.streaming import open_stream
from core_service.conversations.schemas import MessageCreate
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
    return await chat_turn.take_turn(
        session,
        agent,
        user=user,
        conversation_id=conversation_id,
        content=body.content,
        settings=settings,
    )


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
        events,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
