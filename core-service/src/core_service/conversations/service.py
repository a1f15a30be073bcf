"""Conversation and message storage; ownership follows the bot's owner."""

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core_service.bots.models import Bot, utcnow
from core_service.conversations.models import Conversation, Message, MessageRole
from core_service.conversations.schemas import (
    CitationRead,
    FeedbackRating,
    FeedbackRead,
    MessageRead,
    TimingsRead,
    UsageRead,
)
from core_service.database import DriverStatement
from core_service.pagination import PageParams

__all__ = [
    "add_message",
    "create_conversation",
    "delete_conversation",
    "get_conversation",
    "held_by",
    "list_conversations",
    "list_messages",
    "message_read",
    "owned_by",
    "recent_turns",
    "title_from",
    "touch",
]

_TITLE_CHARS = 80


def owned_by(owner_id: uuid.UUID) -> ColumnElement[bool]:
    """The ownership rule: a conversation belongs to the owner of its bot, recorded on it when it
    is created (a bot never changes owner)."""
    return Conversation.owner_id == owner_id


def held_by(*, bot_id: uuid.UUID, end_user_id: str) -> ColumnElement[bool]:
    """The end-user rule: an end user holds only their own conversations with the one bot whose
    key let them in (the owner still owns them, by ``owned_by``)."""
    return and_(Conversation.bot_id == bot_id, Conversation.end_user_id == end_user_id)


async def create_conversation(
    session: AsyncSession, *, bot: Bot, title: str, end_user_id: str | None = None
) -> Conversation:
    """A new, empty conversation with the bot, owned by the bot's owner (and held by
    ``end_user_id`` when an end user started it)."""
    conversation = Conversation(
        bot_id=bot.id, owner_id=bot.owner_id, end_user_id=end_user_id, title=title
    )
    session.add(conversation)
    await session.flush()
    return conversation


async def get_conversation(
    session: AsyncSession,
    *,
    conversation_id: uuid.UUID,
    owner_id: uuid.UUID,
    scope: ColumnElement[bool] | None = None,
) -> Conversation | None:
    """The conversation if it is with one of ``owner_id``'s bots (and within ``scope``, such
    as ``held_by`` an end user), else None."""
    found = await session.scalars(
        select(Conversation).where(
            Conversation.id == conversation_id, owned_by(owner_id), *_given(scope)
        )
    )
    return found.one_or_none()


async def list_conversations(
    session: AsyncSession,
    *,
    bot_id: uuid.UUID,
    page: PageParams,
    end_user_id: str | None = None,
) -> tuple[list[Conversation], int]:
    """One page of the bot's conversations (only ``end_user_id``'s when given), newest first,
    and how many there are."""
    where = (
        held_by(bot_id=bot_id, end_user_id=end_user_id)
        if end_user_id is not None
        else Conversation.bot_id == bot_id
    )
    total = await session.scalar(select(func.count()).select_from(Conversation).where(where))
    conversations = await session.scalars(
        select(Conversation)
        .where(where)
        .order_by(Conversation.created_at.desc(), Conversation.id)
        .limit(page.limit)
        .offset(page.offset)
    )
    return list(conversations), total or 0


def _given(scope: ColumnElement[bool] | None) -> tuple[ColumnElement[bool], ...]:
    return () if scope is None else (scope,)


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
        answered=message.answered,
        feedback=_feedback_read(message),
        timings=None if message.timings is None else TimingsRead(**message.timings),
        created_at=message.created_at,
    )


def _feedback_read(message: Message) -> FeedbackRead | None:
    if message.feedback_rating is None:
        return None
    return FeedbackRead(
        rating=FeedbackRating(message.feedback_rating), comment=message.feedback_comment
    )


# The turn reads the history on every message: built once and run by the driver.
_RECENT_TURNS = DriverStatement.compile(
    select(Message.role, Message.content)
    .where(Message.conversation_id == bindparam("conversation_id"))
    .order_by(Message.sequence.desc())
    .limit(bindparam("limit"))
)


async def recent_turns(
    session: AsyncSession, *, conversation_id: uuid.UUID, limit: int
) -> list[tuple[str, str]]:
    """The conversation's last ``limit`` messages as ``(role, content)``, newest first."""
    values = {"conversation_id": conversation_id, "limit": limit}
    return [(row["role"], row["content"]) for row in await _RECENT_TURNS.fetch(session, values)]


async def add_message(
    session: AsyncSession,
    *,
    conversation_id: uuid.UUID,
    role: MessageRole,
    content: str,
    citations: Sequence[dict[str, Any]] = (),
    input_tokens: int = 0,
    output_tokens: int = 0,
    model: str | None = None,
    answered: bool = True,
    timings: Mapping[str, float] | None = None,
) -> Message:
    """Store a message in the conversation (flushed: an integrity error surfaces here)."""
    message = Message(
        conversation_id=conversation_id,
        role=role.value,
        content=content,
        citations=list(citations),
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        model=model,
        answered=answered,
        timings=None if timings is None else dict(timings),
    )
    session.add(message)
    await session.flush()
    return message


def touch(conversation: Conversation, *, user_message: str) -> None:
    """Mark the conversation active now; an untitled one takes the message's first line."""
    conversation.title = conversation.title or title_from(user_message)
    conversation.updated_at = utcnow()


def title_from(content: str) -> str:
    """A conversation's title from its first message: the first line, shortened."""
    stripped = content.strip()
    return stripped.splitlines()[0][:_TITLE_CHARS] if stripped else ""
