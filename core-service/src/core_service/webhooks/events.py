"""Writing events: in the transaction of the change they report, one delivery per endpoint.

An event nobody subscribed to costs one indexed query and writes nothing. Its data is built
only when some endpoint wants it.
"""

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import Select, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from core_service.bots.models import Bot, utcnow
from core_service.conversations.models import Conversation
from core_service.conversations.schemas import MessageRead
from core_service.documents.models import Document
from core_service.documents.schemas import DocumentRead
from core_service.jobs import service as jobs_service
from core_service.webhooks.models import (
    DeliveryStatus,
    Webhook,
    WebhookDelivery,
    WebhookEvent,
)

__all__ = [
    "DELIVERY_LOG_RETENTION",
    "emit",
    "emit_conversation_message",
    "emit_document_event",
    "emit_feedback_created",
    "emit_source_failed",
    "emit_source_synced",
]
# How long an endpoint's finished deliveries stay in its log (and can be redelivered by hand).
DELIVERY_LOG_RETENTION = timedelta(days=30)

EventData = Callable[[], Awaitable[Mapping[str, Any]]]


async def emit(
    session: AsyncSession, *, bot_id: uuid.UUID, event: WebhookEvent, data: EventData
) -> uuid.UUID | None:
    """Queue ``event`` about the bot for each enabled endpoint of its owner that wants it.

    In the caller's transaction (flushed, not committed): rolled back, nothing is sent. The
    event's id (the same for every endpoint and every try), or None when nobody subscribed.
    """
    webhook_ids = (await session.scalars(_subscribers(bot_id, event))).all()
    if not webhook_ids:
        return None
    event_id = uuid.uuid4()
    envelope = {
        "id": str(event_id),
        "type": event.value,
        "created_at": utcnow().isoformat(),
        "data": dict(await data()),
    }
    for webhook_id in webhook_ids:
        delivery = WebhookDelivery(
            webhook_id=webhook_id,
            bot_id=bot_id,
            event_id=event_id,
            event=event.value,
            payload=envelope,
        )
        session.add(delivery)
        await session.flush()
        await jobs_service.enqueue_webhook_delivery(session, bot_id=bot_id, delivery_id=delivery.id)
    await _prune_delivery_logs(session, webhook_ids)
    return event_id


async def _prune_delivery_logs(session: AsyncSession, webhook_ids: Sequence[uuid.UUID]) -> None:
    """Each new event trims its endpoints' logs of finished deliveries past the retention, so
    a log stays bounded without a sweeper (a delivery still being tried is kept)."""
    await session.execute(
        delete(WebhookDelivery).where(
            WebhookDelivery.webhook_id.in_(webhook_ids),
            WebhookDelivery.status != DeliveryStatus.PENDING.value,
            WebhookDelivery.created_at < utcnow() - DELIVERY_LOG_RETENTION,
        )
    )


def _subscribers(bot_id: uuid.UUID, event: WebhookEvent) -> Select[uuid.UUID]:
    return (
        select(Webhook.id)
        .join(Bot, Bot.owner_id == Webhook.owner_id)
        .where(
            Bot.id == bot_id,
            Webhook.disabled_at.is_(None),
            or_(Webhook.bot_id.is_(None), Webhook.bot_id == bot_id),
            Webhook.events.contains([event.value]),
        )
    )


async def emit_document_event(
    session: AsyncSession, *, bot_id: uuid.UUID, document_id: uuid.UUID, event: WebhookEvent
) -> None:
    """``document.ready`` or ``document.failed``: the document as the API shows it."""

    async def data() -> Mapping[str, Any]:
        document = await session.get(Document, document_id, populate_existing=True)
        return {"document": DocumentRead.model_validate(document).model_dump(mode="json")}

    await emit(session, bot_id=bot_id, event=event, data=data)


async def emit_source_synced(
    session: AsyncSession, *, bot_id: uuid.UUID, source: Mapping[str, Any]
) -> None:
    """``source.synced``: a web source's sync ended; ``source`` is its API body (JSON-ready)."""
    await emit(session, bot_id=bot_id, event=WebhookEvent.SOURCE_SYNCED, data=_given(source))


async def emit_source_failed(
    session: AsyncSession, *, bot_id: uuid.UUID, source: Mapping[str, Any]
) -> None:
    """``source.failed``: a web source's sync failed; ``source`` carries the reason."""
    await emit(session, bot_id=bot_id, event=WebhookEvent.SOURCE_FAILED, data=_given(source))


def _given(source: Mapping[str, Any]) -> EventData:
    async def data() -> Mapping[str, Any]:
        return {"source": dict(source)}

    return data


async def emit_conversation_message(
    session: AsyncSession,
    *,
    bot_id: uuid.UUID,
    user_message: MessageRead,
    assistant_message: MessageRead,
) -> None:
    """``conversation.message``: a message was answered (the question and the answer)."""

    async def data() -> Mapping[str, Any]:
        end_user_id = await session.scalar(
            select(Conversation.end_user_id).where(
                Conversation.id == assistant_message.conversation_id
            )
        )
        return {
            "bot_id": str(bot_id),
            "conversation_id": str(assistant_message.conversation_id),
            "end_user_id": end_user_id,  # null in the owner's own conversations
            "user_message": user_message.model_dump(mode="json"),
            "assistant_message": assistant_message.model_dump(mode="json"),
        }

    await emit(session, bot_id=bot_id, event=WebhookEvent.CONVERSATION_MESSAGE, data=data)


async def emit_feedback_created(
    session: AsyncSession, *, bot_id: uuid.UUID, message: MessageRead
) -> None:
    """``feedback.created``: an answer was rated (the answer with its feedback)."""

    async def data() -> Mapping[str, Any]:
        return {
            "bot_id": str(bot_id),
            "conversation_id": str(message.conversation_id),
            "message_id": str(message.id),
            "feedback": message.feedback.model_dump(mode="json") if message.feedback else None,
            "message": message.model_dump(mode="json"),
        }

    await emit(session, bot_id=bot_id, event=WebhookEvent.FEEDBACK_CREATED, data=data)
