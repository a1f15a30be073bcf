"""``POST /api/v1/conversations/{id}/messages`` and its streaming variant."""

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from core_service.agent_client.dependencies import AgentDep
from core_service.agent_client.exceptions import AgentRejected, AgentUnavailable
from core_service.auth.dependencies import AppSettings, CurrentUser
from core_service.chat import service as chat_service
from core_service.chat.schemas import ChatTurn
from core_service.chat.streaming import relay_chat_stream
from core_service.conversations.schemas import MessageCreate
from core_service.database import direct_pool

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
    settings: AppSettings,
    agent: AgentDep,
    request: Request,
) -> ChatTurn:
    """Send a message and get the bot's answer with its citations."""
    pool = direct_pool(request)
    # Stored (and committed) before the agent call: the message survives an agent failure,
    # and nothing stays locked while the model thinks.
    turn = await chat_service.start_turn(
        pool,
        user_id=user.id,
        conversation_id=conversation_id,
        content=body.content,
        settings=settings,
    )
    try:
        answer = await agent.chat(turn.request)
    except (AgentUnavailable, AgentRejected):
        await chat_service.refund_turn(pool, turn=turn)
        raise
    assistant_message = await chat_service.store_answer(pool, turn=turn, answer=answer)
    return ChatTurn(user_message=turn.message, assistant_message=assistant_message)


@router.post(
    "/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Server-sent events."}},
)
async def stream_message(
    conversation_id: uuid.UUID,
    body: MessageCreate,
    user: CurrentUser,
    settings: AppSettings,
    agent: AgentDep,
    request: Request,
) -> StreamingResponse:
    """Send a message; the answer arrives as ``token``, ``citations`` and ``done`` events."""
    pool = direct_pool(request)
    turn = await chat_service.start_turn(
        pool,
        user_id=user.id,
        conversation_id=conversation_id,
        content=body.content,
        settings=settings,
    )
    events = relay_chat_stream(agent, turn, pool=pool)
    return StreamingResponse(
        events,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
