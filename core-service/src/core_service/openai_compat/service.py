"""The OpenAI request as a stored conversation, and the turn's answer as OpenAI's objects.

OpenAI's API is stateless: every request carries the whole history. Each request is therefore
stored as a new conversation of its end user (``user``): the earlier user and assistant messages
as they were sent (the most recent ones the turn would use), then the question and the answer,
through the owner's chat turn. The turn's history rules then apply unchanged.
"""

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from core_service.botkeys.dependencies import BotKeyIdentity
from core_service.bots.exceptions import BotNotFound
from core_service.bots.models import Bot
from core_service.config import Settings
from core_service.conversations import service as conversations_service
from core_service.conversations.models import Conversation, MessageRole
from core_service.conversations.schemas import MessageRead
from core_service.openai_compat.exceptions import ModelNotFound
from core_service.openai_compat.schemas import (
    ChatCompletion,
    ChatCompletionCreate,
    CompletionChoice,
    CompletionMessage,
    CompletionUsage,
    Model,
)
from core_service.public import service as public_service
from core_service.users.models import User

__all__ = [
    "ANONYMOUS_END_USER",
    "completion",
    "completion_id",
    "key_bot",
    "key_bot_and_owner",
    "model_of",
    "open_conversation",
    "unix_time",
    "usage_of",
]

# Requests without ``user`` are stored as this end user's, never as the owner's own chats.
ANONYMOUS_END_USER = "anon_openai"


def unix_time(moment: datetime) -> int:
    """Seconds since the epoch, as OpenAI's ``created``."""
    return int(moment.timestamp())


def completion_id(conversation_id: uuid.UUID) -> str:
    """A completion's id: each completion is one stored conversation."""
    return f"chatcmpl-{conversation_id.hex}"


def model_of(bot: Bot) -> Model:
    """The bot as an OpenAI model."""
    return Model(id=str(bot.id), created=unix_time(bot.created_at))


async def key_bot(session: AsyncSession, *, caller: BotKeyIdentity, model: str | None) -> Bot:
    """The key's bot, which ``model`` (when given) must name; ``ModelNotFound`` otherwise."""
    if model is not None and model != str(caller.bot_id):
        raise ModelNotFound
    return await public_service.session_bot(session, bot_id=caller.bot_id)


async def key_bot_and_owner(
    session: AsyncSession, *, caller: BotKeyIdentity, model: str
) -> tuple[Bot, User]:
    """The key's bot, which ``model`` must name, and its owner with the plan loaded (whose chat
    turn and quota the request uses), in one query."""
    if model != str(caller.bot_id):
        raise ModelNotFound
    row = (
        await session.execute(
            select(Bot, User)
            .join(User, User.id == Bot.owner_id)
            .options(joinedload(User.subscription_plan))
            .where(Bot.id == caller.bot_id)
        )
    ).one_or_none()
    if row is None:
        raise BotNotFound
    bot, owner = row
    return bot, owner


async def open_conversation(
    session: AsyncSession, *, bot: Bot, body: ChatCompletionCreate, settings: Settings
) -> Conversation:
    """A new conversation of the request's end user holding the request's history (flushed)."""
    # Only what the turn could use is stored: older messages would never reach the agent.
    keep = settings.chat_history_max_messages
    history = body.history[max(0, len(body.history) - keep) :]
    first = history[0].text if history else body.question
    conversation = await conversations_service.create_conversation(
        session,
        bot=bot,
        title=conversations_service.title_from(first),
        end_user_id=body.user or ANONYMOUS_END_USER,
    )
    for message in history:
        await conversations_service.add_message(
            session,
            conversation_id=conversation.id,
            role=MessageRole(message.role),
            content=message.text,
        )
    return conversation


def usage_of(message: MessageRead) -> CompletionUsage:
    """The answer's tokens in OpenAI's names."""
    prompt, completion_tokens = message.usage.input_tokens, message.usage.output_tokens
    return CompletionUsage(
        prompt_tokens=prompt,
        completion_tokens=completion_tokens,
        total_tokens=prompt + completion_tokens,
    )


def completion(*, model: str, answer: MessageRead) -> ChatCompletion:
    """The stored answer as a ``chat.completion``."""
    return ChatCompletion(
        id=completion_id(answer.conversation_id),
        created=unix_time(answer.created_at),
        model=model,
        choices=[
            CompletionChoice(
                message=CompletionMessage(content=answer.content, citations=answer.citations)
            )
        ],
        usage=usage_of(answer),
        conversation_id=str(answer.conversation_id),
    )
