"""A chat turn: quota, the user's message, the bounded history, and the stored answer."""

import math
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from chatsphere_contracts.v1 import (
    MAX_MESSAGE_CHARS,
    ChatRequest,
    ChatRole,
    Citation,
    HistoryMessage,
    TokenUsage,
)
from core_service.bots.configuration import BotConfiguration
from core_service.bots.models import Bot, utcnow
from core_service.config import Settings
from core_service.conversations.models import Conversation, Message, MessageRole
from core_service.usage.service import UsageMetric, consume
from core_service.users.models import User

__all__ = ["estimate_tokens", "recent_history", "record_answer", "start_turn"]

_TITLE_CHARS = 80


def estimate_tokens(text: str) -> int:
    """About four characters a token: close enough to bound a prompt, no tokenizer needed."""
    return max(1, math.ceil(len(text) / 4))


async def recent_history(
    session: AsyncSession, *, conversation_id: uuid.UUID, max_messages: int, token_budget: int
) -> list[HistoryMessage]:
    """The latest turns, oldest first, as many as fit in ``token_budget``."""
    rows = await session.execute(
        select(Message.role, Message.content)
        .where(Message.conversation_id == conversation_id)
        .order_by(Message.sequence.desc())
        .limit(max_messages)
    )
    history: list[HistoryMessage] = []
    spent = 0
    for role, content in rows:
        spent += estimate_tokens(content)
        if spent > token_budget:
            break
        if content:
            history.append(HistoryMessage(role=ChatRole(role), content=content[:MAX_MESSAGE_CHARS]))
    history.reverse()
    return history


async def start_turn(
    session: AsyncSession,
    *,
    conversation: Conversation,
    user: User,
    content: str,
    settings: Settings,
) -> tuple[Message, ChatRequest]:
    """Count the message, store it, and build the agent request (history before it)."""
    bot = await session.get_one(Bot, conversation.bot_id)
    await consume(session, user=user, metric=UsageMetric.MESSAGES)
    history = await recent_history(
        session,
        conversation_id=conversation.id,
        max_messages=settings.chat_history_max_messages,
        token_budget=settings.chat_history_token_budget,
    )
    message = Message(conversation_id=conversation.id, role=MessageRole.USER.value, content=content)
    session.add(message)
    if not conversation.title:
        conversation.title = (
            content.strip().splitlines()[0][:_TITLE_CHARS] if content.strip() else ""
        )
    conversation.updated_at = utcnow()
    await session.flush()
    request = ChatRequest(
        namespace=bot.namespace,
        message=content,
        history=history,
        config=BotConfiguration.model_validate(bot.configuration).chat_config(),
    )
    return message, request


async def record_answer(
    session: AsyncSession,
    *,
    conversation_id: uuid.UUID,
    answer: str,
    citations: list[Citation],
    usage: TokenUsage,
    model: str,
) -> Message:
    """Store the assistant's answer with its citations and token usage."""
    message = Message(
        conversation_id=conversation_id,
        role=MessageRole.ASSISTANT.value,
        content=answer,
        citations=[citation.model_dump(mode="json") for citation in citations],
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        model=model,
    )
    session.add(message)
    await session.flush()
    return message
