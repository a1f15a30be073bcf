"""The chat turn: one service for every door (the answer at once or streamed).

A turn has two transactions with the agent call between them, so that nothing stays locked or
open while the model thinks:

1. **start**: the conversation must be the user's and the month's message quota not spent; the
   user's message is stored and committed (it survives an agent failure), and the agent request
   is built with the history before it. Nothing is counted yet.
2. **finish**: the message is counted and the answer stored in **one** transaction, so the charge
   and the answer agree whatever fails: a turn without an answer (the agent failed, the client
   left, the database failed) is never counted, and there is no refund to forget.

Citations of documents deleted while the agent answered are dropped when the answer is stored.
"""

import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from chatsphere_contracts.v1 import (
    MAX_MESSAGE_CHARS,
    ChatConfig,
    ChatRequest,
    ChatResponse,
    ChatRole,
    Citation,
    HistoryMessage,
)
from core_service.agent_client.client import AgentClient
from core_service.bots.configuration import (
    BotConfiguration,
    BotConfigurationUpdate,
    merge_configuration,
)
from core_service.bots.models import Bot, bot_namespace
from core_service.chat.schemas import ChatTurn
from core_service.config import Settings
from core_service.conversations import service as conversations_service
from core_service.conversations.exceptions import ConversationNotFound
from core_service.conversations.models import Conversation, MessageRole
from core_service.conversations.schemas import CitationRead, MessageRead
from core_service.documents.models import Chunk, Document
from core_service.usage import service as usage_service
from core_service.usage.service import UsageMetric
from core_service.users.models import User
from core_service.webhooks import events as webhook_events

__all__ = [
    "StartedTurn",
    "estimate_tokens",
    "finish_turn",
    "fit_history",
    "start_turn",
    "take_turn",
]


_FOREIGN_KEY_VIOLATION = "23503"


@dataclass(frozen=True)
class StartedTurn:
    """The stored user message, the request for the agent, and where the answer goes."""

    message: MessageRead
    request: ChatRequest
    bot_id: uuid.UUID


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


async def start_turn(
    session: AsyncSession,
    *,
    user: User,
    conversation_id: uuid.UUID,
    content: str,
    settings: Settings,
    scope: ColumnElement[bool] | None = None,
    overrides: BotConfigurationUpdate | None = None,
) -> StartedTurn:
    """Check the conversation and the quota, store the user's message (flushed, not committed)
    and build the agent request.

    ``ConversationNotFound`` when it is not the user's (or outside ``scope``: the door an end
    user comes through narrows it to theirs), ``QuotaExceeded`` past the month's messages;
    nothing is stored then. ``overrides`` are a door's per-request settings (such as the OpenAI
    endpoint's ``temperature``), already validated against the configuration's bounds.
    """
    conversation, bot = await _conversation_and_bot(
        session, user=user, conversation_id=conversation_id, scope=scope
    )
    turns = await conversations_service.recent_turns(
        session, conversation_id=conversation.id, limit=settings.chat_history_max_messages
    )
    conversations_service.touch(conversation, user_message=content)
    message = await conversations_service.add_message(
        session, conversation_id=conversation.id, role=MessageRole.USER, content=content
    )
    request = ChatRequest(
        namespace=bot_namespace(bot.id),
        message=content,
        history=fit_history(turns, token_budget=settings.chat_history_token_budget),
        config=_chat_config(bot, overrides),
    )
    return StartedTurn(
        message=conversations_service.message_read(message), request=request, bot_id=bot.id
    )


async def finish_turn(
    session: AsyncSession, *, user: User, turn: StartedTurn, answer: ChatResponse
) -> MessageRead:
    """Count the message and store the answer, in the caller's transaction (flushed only).

    ``ConversationNotFound`` when the conversation was deleted while the agent answered;
    ``QuotaExceeded`` when concurrent turns spent the quota meanwhile.
    """
    citations = await _citations_of_existing_documents(
        session, bot_id=turn.bot_id, citations=answer.citations
    )
    try:
        # The insert's foreign key check holds off the conversation's deletion until commit.
        message = await conversations_service.add_message(
            session,
            conversation_id=turn.message.conversation_id,
            role=MessageRole.ASSISTANT,
            content=answer.answer,
            citations=[citation.model_dump(mode="json") for citation in citations],
            input_tokens=answer.usage.input_tokens,
            output_tokens=answer.usage.output_tokens,
            model=answer.model,
            answered=answer.answered,
            timings=answer.timings.model_dump() if answer.timings else None,
        )
    except IntegrityError as error:
        if getattr(error.orig, "sqlstate", None) == _FOREIGN_KEY_VIOLATION:
            raise ConversationNotFound from None
        raise
    assistant = conversations_service.message_read(message)
    await webhook_events.emit_conversation_message(
        session, bot_id=turn.bot_id, user_message=turn.message, assistant_message=assistant
    )
    # Counted last: the month's counter row is one per user, and every concurrent turn of that
    # user waits on its lock until this transaction commits; taken last, it is held only for
    # the commit.
    await usage_service.consume(session, user=user, metric=UsageMetric.MESSAGES)
    return assistant


async def take_turn(
    session: AsyncSession,
    agent: AgentClient,
    *,
    user: User,
    conversation_id: uuid.UUID,
    content: str,
    settings: Settings,
    scope: ColumnElement[bool] | None = None,
    overrides: BotConfigurationUpdate | None = None,
) -> ChatTurn:
    """A whole turn answered at once; the answer's transaction is left to the caller to commit.

    An agent failure propagates (``AgentUnavailable``): the user's message stays, uncounted.
    """
    turn = await start_turn(
        session,
        user=user,
        conversation_id=conversation_id,
        content=content,
        settings=settings,
        scope=scope,
        overrides=overrides,
    )
    # The user's message is kept whatever the agent does, and no transaction (nor pooled
    # connection) is held while the model thinks.
    await session.commit()
    answer = await agent.chat(turn.request)
    assistant_message = await finish_turn(session, user=user, turn=turn, answer=answer)
    return ChatTurn(user_message=turn.message, assistant_message=assistant_message)


def _chat_config(bot: Bot, overrides: BotConfigurationUpdate | None) -> ChatConfig:
    """The bot's configuration for the agent, with the door's per-request overrides."""
    if overrides is None:
        return BotConfiguration.model_validate(bot.configuration).chat_config()
    return merge_configuration(bot.configuration, overrides).chat_config()


async def _conversation_and_bot(
    session: AsyncSession,
    *,
    user: User,
    conversation_id: uuid.UUID,
    scope: ColumnElement[bool] | None,
) -> tuple[Conversation, Bot]:
    """The user's conversation and its bot, with the month's quota checked in the same query:
    ``ConversationNotFound`` first, then ``QuotaExceeded``."""
    quota = await usage_service.quota_check(session, user=user, metric=UsageMetric.MESSAGES)
    row = (
        await session.execute(
            select(Conversation, Bot, quota.allowed)
            .join(Bot, Bot.id == Conversation.bot_id)
            .where(Conversation.id == conversation_id, conversations_service.owned_by(user.id))
            .where(*(() if scope is None else (scope,)))
        )
    ).one_or_none()
    if row is None:
        raise ConversationNotFound
    conversation, bot, allowed = row
    if not allowed:
        raise quota.refusal()
    return conversation, bot


async def _citations_of_existing_documents(
    session: AsyncSession, *, bot_id: uuid.UUID, citations: Sequence[Citation]
) -> list[CitationRead]:
    """The citations whose document is still in the bot, with the document's name and the
    passage's place in its text.

    The documents found are key-share locked until the answer commits, so a deletion either
    commits first (and its citations are dropped here) or waits for this answer: a document is
    never cited after its ``DELETE`` answered 204.
    """
    cited = {_uuid_or_none(citation.document_id) for citation in citations}
    cited.discard(None)
    if not cited:
        return []
    rows = await session.execute(
        select(Document.id, Document.name, Document.url)
        .where(Document.bot_id == bot_id, Document.id.in_(cited))
        .with_for_update(read=True, key_share=True)
    )
    found = rows.all()
    names: dict[uuid.UUID, str] = {document_id: name for document_id, name, _ in found}
    # A web source's page: the citation links to it.
    urls: dict[uuid.UUID, str | None] = {document_id: url for document_id, _, url in found}
    places = await _passage_places(session, documents=names, citations=citations)
    return [
        CitationRead(
            **citation.model_dump(),
            document_name=names[document_id],
            start=places.get(citation.chunk_id, (None, None))[0],
            end=places.get(citation.chunk_id, (None, None))[1],
            url=urls[document_id],
        )
        for citation in citations
        if (document_id := _uuid_or_none(citation.document_id)) in names
    ]


async def _passage_places(
    session: AsyncSession, *, documents: Mapping[uuid.UUID, str], citations: Sequence[Citation]
) -> dict[str, tuple[int, int]]:
    """Each cited chunk's character offsets in its document's extracted text."""
    rows = await session.execute(
        select(Chunk.vector_id, Chunk.start_offset, Chunk.end_offset).where(
            Chunk.document_id.in_(list(documents)),
            Chunk.vector_id.in_([citation.chunk_id for citation in citations]),
        )
    )
    return {vector_id: (start, end) for vector_id, start, end in rows}


def _uuid_or_none(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None
