"""``POST /api/v1/conversations/{id}/messages`` and its streaming variant."""

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from core_service.agent_client.dependencies import AgentDep
from core_service.auth.dependencies import AppSettings, CurrentUser
from core_service.chat import service as chat_service
from core_service.chat.schemas import ChatTurn
from core_service.chat.streaming import relay_chat_stream
from core_service.conversations.dependencies import OwnedConversation
from core_service.conversations.schemas import MessageCreate
from core_service.conversations.service import message_read
from core_service.database import SessionDep

__all__ = ["router"]

router = APIRouter(prefix="/conversations/{conversation_id}/messages", tags=["chat"])


@router.post("", responses={503: {"description": "The agent is unavailable; the message is kept."}})
async def send_message(
    conversation: OwnedConversation,
    body: MessageCreate,
    user: CurrentUser,
    session: SessionDep,
    settings: AppSettings,
    agent: AgentDep,
) -> ChatTurn:
    """Send a message and get the bot's answer with its citations."""
    user_message, chat_request = await chat_service.start_turn(
        session, conversation=conversation, user=user, content=body.content, settings=settings
    )
    # Committed before the agent call: the message survives an agent failure, and no
    # transaction stays open while the model thinks.
    await session.commit()
    answer = await agent.chat(chat_request)
    assistant_message = await chat_service.record_answer(
        session,
        conversation_id=conversation.id,
        answer=answer.answer,
        citations=answer.citations,
        usage=answer.usage,
        model=answer.model,
    )
    return ChatTurn(
        user_message=message_read(user_message),
        assistant_message=message_read(assistant_message),
    )


@router.post(
    "/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Server-sent events."}},
)
async def stream_message(
    conversation: OwnedConversation,
    body: MessageCreate,
    user: CurrentUser,
    session: SessionDep,
    settings: AppSettings,
    agent: AgentDep,
    request: Request,
) -> StreamingResponse:
    """Send a message; the answer arrives as ``token``, ``citations`` and ``done`` events."""
    _, chat_request = await chat_service.start_turn(
        session, conversation=conversation, user=user, content=body.content, settings=settings
    )
    await session.commit()
    events = relay_chat_stream(
        agent,
        chat_request,
        sessionmaker=request.app.state.sessionmaker,
        conversation_id=conversation.id,
    )
    return StreamingResponse(
        events,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
