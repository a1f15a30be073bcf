"""``/api/v1/public``: sessions, conversations, messages and feedback for end users."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.responses import StreamingResponse

from chatsphere_kit.streaming import coalesced
from core_service.agent_client.dependencies import AgentDep
from core_service.auth.dependencies import AppSettings
from core_service.botkeys.dependencies import BotKeyCaller
from core_service.botkeys.exceptions import OriginNotAllowed
from core_service.chat import turn as chat_turn
from core_service.chat.schemas import ChatTurn
from core_service.chat.streaming import open_stream
from core_service.conversations import service as conversations_service
from core_service.conversations.exceptions import ConversationNotFound
from core_service.conversations.models import Conversation
from core_service.conversations.schemas import (
    ConversationCreate,
    ConversationRead,
    MessageCreate,
    MessageRead,
)
from core_service.database import SessionDep, SessionmakerDep
from core_service.feedback import service as feedback_service
from core_service.feedback.schemas import FeedbackCreate
from core_service.pagination import Page, PageQuery
from core_service.public import service as public_service
from core_service.public.cors import origin_is_published, preflight_headers
from core_service.public.dependencies import EndUser
from core_service.public.limits import EndUserMessageLimit
from core_service.public.schemas import SessionCreate, SessionRead

__all__ = ["router"]

router = APIRouter(prefix="/public", tags=["public chat"])


async def get_held_conversation(
    conversation_id: uuid.UUID, end_user: EndUser, session: SessionDep
) -> Conversation:
    """The end user's own conversation with the bot; 404 for anyone else's."""
    conversation = await conversations_service.get_conversation(
        session,
        conversation_id=conversation_id,
        owner_id=end_user.owner.id,
        scope=end_user.scope,
    )
    if conversation is None:
        raise ConversationNotFound
    return conversation


HeldConversation = Annotated[Conversation, Depends(get_held_conversation)]


@router.options("/{path:path}", include_in_schema=False)
async def preflight(request: Request, session: SessionDep) -> Response:
    """CORS preflights from the web sites publishable keys list; refused for any other."""
    origin = request.headers.get("origin")
    if origin is None or not await origin_is_published(session, origin=origin):
        raise OriginNotAllowed
    return Response(status_code=status.HTTP_204_NO_CONTENT, headers=preflight_headers(origin))


@router.post("/sessions", status_code=status.HTTP_201_CREATED)
async def start_session(
    caller: BotKeyCaller, session: SessionDep, settings: AppSettings, body: SessionCreate
) -> SessionRead:
    """A session token for an end user of the key's bot (anonymous unless named)."""
    return await public_service.start_session(session, caller=caller, body=body, settings=settings)


@router.post("/conversations", status_code=status.HTTP_201_CREATED)
async def create_conversation(
    end_user: EndUser, session: SessionDep, body: ConversationCreate | None = None
) -> ConversationRead:
    """Start a conversation with the bot."""
    bot = await public_service.session_bot(session, bot_id=end_user.bot_id)
    conversation = await conversations_service.create_conversation(
        session, bot=bot, title=body.title if body else "", end_user_id=end_user.end_user_id
    )
    return ConversationRead.model_validate(conversation)


@router.get("/conversations")
async def list_conversations(
    end_user: EndUser, session: SessionDep, page: PageQuery
) -> Page[ConversationRead]:
    """This end user's conversations with the bot, newest first."""
    conversations, total = await conversations_service.list_conversations(
        session, bot_id=end_user.bot_id, page=page, end_user_id=end_user.end_user_id
    )
    items = [ConversationRead.model_validate(conversation) for conversation in conversations]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/conversations/{conversation_id}")
async def get_conversation(conversation: HeldConversation) -> ConversationRead:
    """One of this end user's conversations."""
    return ConversationRead.model_validate(conversation)


@router.get("/conversations/{conversation_id}/messages")
async def list_messages(
    conversation: HeldConversation, session: SessionDep, page: PageQuery
) -> Page[MessageRead]:
    """The conversation's messages, oldest first."""
    messages, total = await conversations_service.list_messages(
        session, conversation_id=conversation.id, page=page
    )
    items = [conversations_service.message_read(message) for message in messages]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.post("/conversations/{conversation_id}/messages", dependencies=[EndUserMessageLimit])
async def send_message(
    conversation_id: uuid.UUID,
    body: MessageCreate,
    end_user: EndUser,
    session: SessionDep,
    settings: AppSettings,
    agent: AgentDep,
) -> ChatTurn:
    """Send a message and get the bot's answer (the owner's chat turn; the owner's quota)."""
    return await chat_turn.take_turn(
        session,
        agent,
        user=end_user.owner,
        conversation_id=conversation_id,
        content=body.content,
        settings=settings,
        scope=end_user.scope,
    )


@router.post(
    "/conversations/{conversation_id}/messages/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Server-sent events."}},
    dependencies=[EndUserMessageLimit],
)
async def stream_message(
    conversation_id: uuid.UUID,
    body: MessageCreate,
    end_user: EndUser,
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
        user=end_user.owner,
        conversation_id=conversation_id,
        content=body.content,
        settings=settings,
        scope=end_user.scope,
    )
    return StreamingResponse(
        coalesced(events),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.put("/conversations/{conversation_id}/messages/{message_id}/feedback")
async def rate_message(
    conversation: HeldConversation,
    message_id: uuid.UUID,
    body: FeedbackCreate,
    session: SessionDep,
) -> MessageRead:
    """Thumbs up or down on an answer; 422 on a user's message."""
    message = await feedback_service.rate_message(
        session, conversation=conversation, message_id=message_id, feedback=body
    )
    return conversations_service.message_read(message)
