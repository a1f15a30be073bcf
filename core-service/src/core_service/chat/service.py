"""A chat turn: quota, the user's message, the bounded history, and the stored answer.

The hottest write path: two hand-written statements on the direct pool instead of about a dozen
through the ORM (see ``database.DirectPool``).
"""

import json
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg
from pydantic import TypeAdapter

from chatsphere_contracts.v1 import (
    MAX_MESSAGE_CHARS,
    ChatRequest,
    ChatResponse,
    ChatRole,
    HistoryMessage,
)
from core_service.auth.clock import utcnow
from core_service.auth.exceptions import InvalidToken
from core_service.bots.configuration import BotConfiguration
from core_service.bots.models import bot_namespace
from core_service.config import Settings
from core_service.conversations.exceptions import ConversationNotFound
from core_service.conversations.models import MessageRole
from core_service.conversations.schemas import CitationRead, MessageRead, UsageRead
from core_service.database import DirectPool
from core_service.plans.models import FREE_PLAN_NAME
from core_service.usage.service import UsageMetric, period_of, quota_exceeded

__all__ = [
    "StartedTurn",
    "estimate_tokens",
    "fit_history",
    "refund_turn",
    "start_turn",
    "store_answer",
]

_TITLE_CHARS = 80


def estimate_tokens(text: str) -> int:
    """About four characters a token: close enough to bound a prompt, no tokenizer needed."""
    return max(1, math.ceil(len(text) / 4))


def fit_history(turns: Sequence[tuple[str, str]], *, token_budget: int) -> list[HistoryMessage]:
    """From ``(role, content)`` turns, newest first: as many as fit in ``token_budget``, oldest
    first."""
    history: list[HistoryMessage] = []
    spent = 0
    for role, content in turns:
        spent += estimate_tokens(content)
        if spent > token_budget:
            break
        if content:
            history.append(HistoryMessage(role=ChatRole(role), content=content[:MAX_MESSAGE_CHARS]))
    history.reverse()
    return history


# A chat turn's bookkeeping in one atomic statement (one round trip, the quota row locked only
# while it runs): the user must be active, the conversation theirs and the month's message
# quota not spent; only then is the count taken (the rule of usage.service.consume, whose
# counters these are), the message stored and the conversation touched. Each CTE sees the data
# as it was before the statement, so the history read here is the one before this message.
# $1 user, $2 conversation, $3 month, $4 message id, $5 content, $6 title for an untitled
# conversation, $7 history length, $8 the plan of users without one, $9 the metric.
#
# It commits without waiting for its WAL to reach the disk (``synchronous_commit`` off for this
# transaction only): about 0.1 ms less per turn. Nothing the client is told depends on it alone:
# the answer's insert, or the refund when there is none, commits synchronously before the
# response, and flushing the WAL up to that commit flushes this one too, as it comes earlier.
# A database crash in between can lose only a turn whose answer the client never got.
_START_TURN_SQL = """
WITH owner AS (
    SELECT u.id,
           coalesce(p.max_messages_per_month,
                    (SELECT max_messages_per_month FROM subscription_plans WHERE name = $8))
               AS cap
    FROM users AS u
    LEFT JOIN subscription_plans AS p ON p.id = u.subscription_plan_id
    WHERE u.id = $1 AND u.is_active
), conversation AS (
    SELECT c.id, b.id AS bot_id, b.configuration
    FROM conversations AS c JOIN bots AS b ON b.id = c.bot_id
    WHERE c.id = $2 AND c.owner_id = (SELECT id FROM owner)
), counted AS (
    INSERT INTO usage_counters AS counter (user_id, metric, period, amount, updated_at)
    SELECT owner.id, $9, $3, 1, now() FROM owner, conversation WHERE owner.cap >= 1
    ON CONFLICT (user_id, metric, period) DO UPDATE
        SET amount = counter.amount + 1, updated_at = now()
        WHERE counter.amount + 1 <= (SELECT cap FROM owner)
    RETURNING counter.amount
), message AS (
    INSERT INTO messages
        (id, conversation_id, role, content, citations, input_tokens, output_tokens, created_at)
    SELECT $4, conversation.id, 'user', $5, '[]', 0, 0, now() FROM conversation, counted
    RETURNING id, created_at
), touched AS (
    UPDATE conversations
    SET updated_at = now(), title = CASE WHEN title = '' THEN $6 ELSE title END
    WHERE id = $2 AND EXISTS (SELECT 1 FROM message)
), history AS (
    SELECT sequence, role, content FROM messages
    WHERE conversation_id = (SELECT id FROM conversation)
    ORDER BY sequence DESC LIMIT $7
)
SELECT set_config('synchronous_commit', 'off', true) AS commit_mode,
       EXISTS (SELECT 1 FROM owner) AS owner_active,
       (SELECT cap FROM owner) AS cap,
       (SELECT bot_id FROM conversation) AS bot_id,
       (SELECT configuration::text FROM conversation) AS configuration,
       (SELECT created_at FROM message) AS created_at,
       (SELECT coalesce(json_agg(json_build_array(role, content) ORDER BY sequence DESC), '[]')
        FROM history)::text AS history
"""

# Commits synchronously (the session default): the response acknowledges this answer.
_STORE_ANSWER_SQL = """
INSERT INTO messages
    (id, conversation_id, role, content, citations, input_tokens, output_tokens, model, created_at)
VALUES ($1, $2, 'assistant', $3, $4, $5, $6, $7, now())
RETURNING created_at
"""

# The month's count given back when no answer came (the rule of usage.service.release).
_REFUND_SQL = """
UPDATE usage_counters SET amount = greatest(amount - 1, 0), updated_at = now()
WHERE user_id = $1 AND metric = $2 AND period = $3
"""

_TURNS = TypeAdapter(list[tuple[str, str]])


@dataclass(frozen=True)
class StartedTurn:
    """The stored user message, the request for the agent, and whose count it took."""

    message: MessageRead
    request: ChatRequest
    user_id: uuid.UUID
    period: str


async def start_turn(
    pool: DirectPool,
    *,
    user_id: uuid.UUID,
    conversation_id: uuid.UUID,
    content: str,
    settings: Settings,
) -> StartedTurn:
    """Count the message, store it, and build the agent request (history before it).

    401 when the user is gone or inactive, 404 when the conversation is not theirs, 429 past
    the month's message quota; nothing is stored then.
    """
    now = utcnow()
    period = period_of(UsageMetric.MESSAGES, now)
    message_id = uuid.uuid4()
    async with pool.connection() as connection:
        row = await connection.fetchrow(
            _START_TURN_SQL,
            user_id,
            conversation_id,
            period,
            message_id,
            content,
            _title_of(content),
            settings.chat_history_max_messages,
            FREE_PLAN_NAME,
            UsageMetric.MESSAGES.value,
        )
    if row is None or not row["owner_active"]:
        raise InvalidToken
    if row["bot_id"] is None:
        raise ConversationNotFound
    if row["created_at"] is None:
        raise quota_exceeded(UsageMetric.MESSAGES, row["cap"], now)
    configuration = BotConfiguration.model_validate_json(row["configuration"])
    history = fit_history(
        _TURNS.validate_json(row["history"]), token_budget=settings.chat_history_token_budget
    )
    message = MessageRead(
        id=message_id,
        conversation_id=conversation_id,
        role=MessageRole.USER,
        content=content,
        citations=[],
        usage=UsageRead(input_tokens=0, output_tokens=0),
        model=None,
        created_at=row["created_at"],
    )
    request = ChatRequest(
        namespace=bot_namespace(row["bot_id"]),
        message=content,
        history=history,
        config=configuration.chat_config(),
    )
    return StartedTurn(message=message, request=request, user_id=user_id, period=period)


async def refund_turn(pool: DirectPool, *, turn: StartedTurn) -> None:
    """Give the message back to the month's quota: the agent gave no answer to it.

    The message itself stays in the conversation, so the user sees what they sent.
    """
    async with pool.connection() as connection:
        await connection.execute(_REFUND_SQL, turn.user_id, UsageMetric.MESSAGES.value, turn.period)


def _title_of(content: str) -> str:
    stripped = content.strip()
    return stripped.splitlines()[0][:_TITLE_CHARS] if stripped else ""


async def store_answer(pool: DirectPool, *, turn: StartedTurn, answer: ChatResponse) -> MessageRead:
    """Store the assistant's answer with its citations and token usage (one statement).

    404 when the conversation was deleted while the agent answered.
    """
    conversation_id = turn.message.conversation_id
    message_id = uuid.uuid4()
    citations = [citation.model_dump(mode="json") for citation in answer.citations]
    try:
        async with pool.connection() as connection:
            created_at = await connection.fetchval(
                _STORE_ANSWER_SQL,
                message_id,
                conversation_id,
                answer.answer,
                json.dumps(citations),
                answer.usage.input_tokens,
                answer.usage.output_tokens,
                answer.model,
            )
    except asyncpg.ForeignKeyViolationError:
        raise ConversationNotFound from None
    return MessageRead(
        id=message_id,
        conversation_id=conversation_id,
        role=MessageRole.ASSISTANT,
        content=answer.answer,
        citations=[CitationRead.model_validate(citation) for citation in citations],
        usage=UsageRead(
            input_tokens=answer.usage.input_tokens, output_tokens=answer.usage.output_tokens
        ),
        model=answer.model,
        created_at=created_at,
    )
