"""Managing endpoints and their delivery logs (the owner's side)."""

import secrets
import uuid
from collections.abc import Sequence
from typing import TypeVar

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core_service.bots import service as bots_service
from core_service.bots.exceptions import BotNotFound
from core_service.bots.models import utcnow
from core_service.config import Settings
from core_service.jobs import service as jobs_service
from core_service.pagination import PageParams
from core_service.webhooks.delivery import webhook_fetcher
from core_service.webhooks.exceptions import DeliveryNotFound, TooManyWebhooks
from core_service.webhooks.models import DeliveryStatus, Webhook, WebhookDelivery
from core_service.webhooks.schemas import (
    WebhookCreate,
    WebhookCreated,
    WebhookRead,
    WebhookUpdate,
)

__all__ = [
    "create_webhook",
    "delete_webhook",
    "get_webhook",
    "list_deliveries",
    "list_webhooks",
    "redeliver",
    "update_webhook",
    "webhook_read",
]

RowT = TypeVar("RowT")


def owned_by(owner_id: uuid.UUID) -> ColumnElement[bool]:
    """The ownership rule of endpoints."""
    return Webhook.owner_id == owner_id


async def create_webhook(
    session: AsyncSession, *, owner_id: uuid.UUID, data: WebhookCreate, settings: Settings
) -> WebhookCreated:
    """Register the endpoint with a new signing secret.

    ``UrlNotAllowed`` for a URL the web sources' rules refuse (checked before any query, so no
    transaction waits on name resolution), ``BotNotFound`` for a bot that is not theirs.
    """
    async with webhook_fetcher(settings) as fetcher:
        await fetcher.check_url(str(data.url))
    if data.bot_id is not None and not await bots_service.get_bot(
        session, bot_id=data.bot_id, owner_id=owner_id
    ):
        raise BotNotFound
    existing = await session.scalar(
        select(func.count()).select_from(Webhook).where(owned_by(owner_id))
    )
    if (existing or 0) >= settings.webhook_max_per_user:
        raise TooManyWebhooks
    webhook = Webhook(
        owner_id=owner_id,
        bot_id=data.bot_id,
        url=str(data.url),
        events=[event.value for event in data.events],
        secret=f"whsec_{secrets.token_urlsafe(32)}",
        created_at=utcnow(),
    )
    session.add(webhook)
    await session.flush()
    return WebhookCreated(**webhook_read(webhook).model_dump(), secret=webhook.secret)


def webhook_read(webhook: Webhook) -> WebhookRead:
    """The API body of an endpoint (never its secret)."""
    return WebhookRead.model_validate(
        {
            **{name: getattr(webhook, name) for name in _READ_FIELDS},
            "enabled": webhook.disabled_at is None,
        }
    )


_READ_FIELDS = (
    "id",
    "url",
    "events",
    "bot_id",
    "disabled_at",
    "disabled_reason",
    "failing_since",
    "created_at",
)


async def get_webhook(
    session: AsyncSession, *, webhook_id: uuid.UUID, owner_id: uuid.UUID
) -> Webhook | None:
    """The owner's endpoint, or None (also when someone else's)."""
    found = await session.scalars(
        select(Webhook).where(Webhook.id == webhook_id, owned_by(owner_id))
    )
    return found.one_or_none()


async def list_webhooks(
    session: AsyncSession, *, owner_id: uuid.UUID, page: PageParams
) -> tuple[Sequence[Webhook], int]:
    """One page of the owner's endpoints, newest first, and how many there are."""
    query = select(Webhook).where(owned_by(owner_id)).order_by(Webhook.created_at.desc())
    return await _page(session, query.order_by(Webhook.id), page)


async def update_webhook(session: AsyncSession, *, webhook: Webhook, data: WebhookUpdate) -> None:
    """New events; enabling forgets the failures that disabled it (disabling stops sends)."""
    if data.events is not None:
        webhook.events = [event.value for event in data.events]
    if data.enabled is True:
        webhook.disabled_at = None
        webhook.disabled_reason = None
        webhook.failing_since = None
        webhook.paused_until = None
    elif data.enabled is False and webhook.disabled_at is None:
        webhook.disabled_at = utcnow()
        webhook.disabled_reason = "Disabled by its owner."
    await session.flush()


async def delete_webhook(session: AsyncSession, *, webhook: Webhook) -> None:
    """Remove the endpoint and its log; tries already queued find nothing and end."""
    await session.delete(webhook)
    await session.flush()


async def list_deliveries(
    session: AsyncSession, *, webhook_id: uuid.UUID, page: PageParams
) -> tuple[Sequence[WebhookDelivery], int]:
    """One page of the endpoint's delivery log, newest first."""
    query = (
        select(WebhookDelivery)
        .where(WebhookDelivery.webhook_id == webhook_id)
        .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id)
    )
    return await _page(session, query, page)


async def _page(
    session: AsyncSession, query: Select[RowT], page: PageParams
) -> tuple[Sequence[RowT], int]:
    rows = (
        await session.execute(
            query.add_columns(func.count().over()).limit(page.limit).offset(page.offset)
        )
    ).all()
    if rows:
        return [row[0] for row in rows], rows[0][1]
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    return [], total or 0


async def redeliver(
    session: AsyncSession, *, webhook: Webhook, delivery_id: uuid.UUID
) -> WebhookDelivery:
    """Send the same event again now, with a new retry window; ``DeliveryNotFound``."""
    delivery = await session.scalar(
        select(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id, WebhookDelivery.webhook_id == webhook.id)
        .with_for_update()
    )
    if delivery is None:
        raise DeliveryNotFound
    delivery.status = DeliveryStatus.PENDING.value
    delivery.retry_from = utcnow()
    await jobs_service.cancel_webhook_delivery(session, delivery_id=delivery.id)
    await jobs_service.enqueue_webhook_delivery(
        session, bot_id=delivery.bot_id, delivery_id=delivery.id
    )
    return delivery
