"""Conversation and message storage; ownership follows the bot's owner."""

import uuid

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core_service.bots.models import Bot
from core_service.conversations.models import Conversation, Message, MessageRole
from core_service.conversations.schemas import CitationRead, MessageRead, UsageRead
from core_service.pagination import PageParams

__all__ = [
    "create_conversation",
    "delete_conversation",
    "get_conversation",
    "list_conversations",
    "list_messages",
    "message_read",
]


async def create_conversation(session: AsyncSession, *, bot: Bot, title: str) -> Conversation:
    """A new, empty conversation with the bot, owned by the bot's owner."""
    conversation = Conversation(bot_id=bot.id, owner_id=bot.owner_id, title=title)
    session.add(conversation)
    await session.flush()
    return conversation


async def get_conversation(
    session: AsyncSession, *, conversation_id: uuid.UUID, owner_id: uuid.UUID
) -> Conversation | None:
    """The conversation if it is with one of ``owner_id``'s bots, else None."""
    found = await session.scalars(
        select(Conversation)
        .join(Bot, Bot.id == Conversation.bot_id)
        .where(Conversation.id == conversation_id, Bot.owner_id == owner_id)
    )
    return found.one_or_none()


async def list_conversations(
    session: AsyncSession, *, bot_id: uuid.UUID, page: PageParams
) -> tuple[list[Conversation], int]:
    """One page of the bot's conversations, newest first, and how many there are."""
    total = await session.scalar(
        select(func.count()).select_from(Conversation).where(Conversation.bot_id == bot_id)
    )
    conversations = await session.scalars(
        select(Conversation)
        .where(Conversation.bot_id == bot_id)
        .order_by(Conversation.created_at.desc(), Conversation.id)
        .limit(page.limit)
        .offset(page.offset)
    )
    return list(conversations), total or 0


async def delete_conversation(session: AsyncSession, *, conversation: Conversation) -> None:
    """Delete the conversation and its messages."""
    await session.execute(delete(Conversation).where(Conversation.id == conversation.id))


async def list_messages(
    session: AsyncSession, *, conversation_id: uuid.UUID, page: PageParams
) -> tuple[list[Message], int]:
    """One page of the conversation's messages, oldest first, and how many there are."""
    total = await session.scalar(
        select(func.count()).select_from(Message).where(Message.conversation_id == conversation_id)
    )
    messages = await session.scalars(
        select(Message)
        .where(Message.conversation_id == conversation_id)
        .order_by(Message.sequence)
        .limit(page.limit)
        .offset(page.offset)
    )
    return list(messages), total or 0


def message_read(message: Message) -> MessageRead:
    """The API body of a stored message."""
    return MessageRead(
        id=message.id,
        conversation_id=message.conversation_id,
        role=MessageRole(message.role),
        content=message.content,
        citations=[CitationRead.model_validate(citation) for citation in message.citations],
        usage=UsageRead(input_tokens=message.input_tokens, output_tokens=message.output_tokens),
        model=message.model,
        created_at=message.created_at,
    )
