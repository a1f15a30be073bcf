"""Conversations: under a bot for creating and listing, by id for the rest."""

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from core_service.bots.dependencies import OwnedBot
from core_service.conversations import service as conversations_service
from core_service.conversations.dependencies import OwnedConversation
from core_service.conversations.schemas import ConversationCreate, ConversationRead, MessageRead
from core_service.database import SessionDep
from core_service.pagination import Page, PageQuery

__all__ = ["router"]

router = APIRouter(tags=["conversations"])


@router.post("/bots/{bot_id}/conversations", status_code=status.HTTP_201_CREATED)
async def create_conversation(
    bot: OwnedBot, session: SessionDep, body: ConversationCreate | None = None
) -> ConversationRead:
    """Start a conversation with the bot."""
    title = body.title if body else ""
    conversation = await conversations_service.create_conversation(session, bot=bot, title=title)
    return ConversationRead.model_validate(conversation)


@router.get("/bots/{bot_id}/conversations")
async def list_conversations(
    bot: OwnedBot,
    session: SessionDep,
    page: PageQuery,
    end_user_id: Annotated[
        str | None, Query(max_length=128, description="Only this end user's conversations.")
    ] = None,
) -> Page[ConversationRead]:
    """The bot's conversations (its end users' too, each with its ``end_user_id``), newest
    first."""
    conversations, total = await conversations_service.list_conversations(
        session, bot_id=bot.id, page=page, end_user_id=end_user_id
    )
    items = [ConversationRead.model_validate(conversation) for conversation in conversations]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/conversations/{conversation_id}")
async def get_conversation(conversation: OwnedConversation) -> ConversationRead:
    """One conversation."""
    return ConversationRead.model_validate(conversation)


@router.delete("/conversations/{conversation_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_conversation(conversation: OwnedConversation, session: SessionDep) -> Response:
    """Delete the conversation and its messages."""
    await conversations_service.delete_conversation(session, conversation=conversation)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/conversations/{conversation_id}/messages")
async def list_messages(
    conversation: OwnedConversation, session: SessionDep, page: PageQuery
) -> Page[MessageRead]:
    """The conversation's messages, oldest first."""
    messages, total = await conversations_service.list_messages(
        session, conversation_id=conversation.id, page=page
    )
    items = [conversations_service.message_read(message) for message in messages]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)
