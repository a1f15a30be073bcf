"""A bot's analytics, computed from its conversations when asked."""

import uuid
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Integer, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from core_service.analytics.schemas import BotAnalytics, FeedbackCounts, UnansweredQuestion
from core_service.bots.models import utcnow
from core_service.conversations.models import Conversation, Message, MessageRole
from core_service.conversations.schemas import FeedbackRating

__all__ = ["MAX_UNANSWERED", "bot_analytics", "normalised_question"]

MAX_UNANSWERED = 20


def normalised_question(content: ColumnElement[str]) -> ColumnElement[str]:
    """Case, spacing and punctuation removed: "Opening hours?" and "opening  hours" are one."""
    words = func.regexp_replace(content, r"[[:space:][:punct:]]+", " ", "g")
    return func.btrim(func.lower(words))


async def bot_analytics(session: AsyncSession, *, bot_id: uuid.UUID, days: int) -> BotAnalytics:
    """Counts over the last ``days`` days and the most asked questions left unanswered."""
    since = utcnow() - timedelta(days=days)
    in_bot = and_(Conversation.bot_id == bot_id, Message.created_at >= since)
    answer = Message.role == MessageRole.ASSISTANT.value
    totals = (
        await session.execute(
            select(
                func.count(),
                func.count().filter(answer),
                func.count().filter(answer, Message.answered),
                func.count().filter(answer, Message.feedback_rating == FeedbackRating.UP.value),
                func.count().filter(answer, Message.feedback_rating == FeedbackRating.DOWN.value),
                # End users who wrote in the period; the owner's own conversations have none.
                func.count(Conversation.end_user_id.distinct()),
            )
            .select_from(Message)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(in_bot)
        )
    ).one()
    messages, answers, answered, up, down, end_users = (int(value) for value in totals)
    return BotAnalytics(
        days=days,
        conversations=await _conversations(session, bot_id=bot_id, since=since),
        messages=messages,
        end_users=end_users,
        answered_rate=round(answered / answers, 4) if answers else None,
        feedback=FeedbackCounts(up=up, down=down),
        unanswered=await _unanswered(session, bot_id=bot_id, since=since),
    )


async def _conversations(session: AsyncSession, *, bot_id: uuid.UUID, since: datetime) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(Conversation)
        .where(Conversation.bot_id == bot_id, Conversation.created_at >= since)
    )
    return int(count or 0)


async def _unanswered(
    session: AsyncSession, *, bot_id: uuid.UUID, since: datetime
) -> list[UnansweredQuestion]:
    """The user message before each unanswered answer, grouped by its normalised text."""
    asked = aliased(Message)
    question = (
        select(asked.content)
        .where(
            asked.conversation_id == Message.conversation_id,
            asked.role == MessageRole.USER.value,
            asked.sequence < Message.sequence,
        )
        .order_by(asked.sequence.desc())
        .limit(1)
        .lateral("question")
    )
    text = normalised_question(question.c.content)
    rows = await session.execute(
        select(
            func.max(question.c.content),
            func.count().cast(Integer),
            func.max(Message.created_at),
        )
        .select_from(Message)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .join(question, text != "")
        .where(
            Conversation.bot_id == bot_id,
            Message.created_at >= since,
            Message.role == MessageRole.ASSISTANT.value,
            Message.answered.is_(False),
        )
        .group_by(text)
        .order_by(func.count().desc(), func.max(Message.created_at).desc())
        .limit(MAX_UNANSWERED)
    )
    return [
        UnansweredQuestion(question=content, count=count, last_asked_at=last)
        for content, count, last in rows
    ]
