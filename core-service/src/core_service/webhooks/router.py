"""``/api/v1/webhooks``: endpoints, their delivery logs and manual redelivery."""

import uuid

from fastapi import APIRouter, Response, status

from core_service.auth.dependencies import AppSettings, CurrentUserId
from core_service.database import SessionDep
from core_service.pagination import Page, PageQuery
from core_service.webhooks import service as webhooks_service
from core_service.webhooks.dependencies import OwnedWebhook
from core_service.webhooks.schemas import (
    DeliveryRead,
    WebhookCreate,
    WebhookCreated,
    WebhookRead,
    WebhookUpdate,
)

__all__ = ["router"]

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_webhook(
    body: WebhookCreate, user_id: CurrentUserId, session: SessionDep, settings: AppSettings
) -> WebhookCreated:
    """Register an endpoint; the answer shows its signing secret, this once.

    422 ``UrlNotAllowed`` for a URL the web sources' rules refuse (private addresses, ports).
    """
    return await webhooks_service.create_webhook(
        session, owner_id=user_id, data=body, settings=settings
    )


@router.get("")
async def list_webhooks(
    user_id: CurrentUserId, session: SessionDep, page: PageQuery
) -> Page[WebhookRead]:
    """The caller's endpoints, newest first."""
    webhooks, total = await webhooks_service.list_webhooks(session, owner_id=user_id, page=page)
    items = [webhooks_service.webhook_read(webhook) for webhook in webhooks]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/{webhook_id}")
async def get_webhook(webhook: OwnedWebhook) -> WebhookRead:
    """One endpoint, with why it was disabled if it was."""
    return webhooks_service.webhook_read(webhook)


@router.patch("/{webhook_id}")
async def update_webhook(
    webhook: OwnedWebhook, body: WebhookUpdate, session: SessionDep
) -> WebhookRead:
    """Change the events, or enable a disabled endpoint again (its failures are forgotten)."""
    await webhooks_service.update_webhook(session, webhook=webhook, data=body)
    return webhooks_service.webhook_read(webhook)


@router.delete("/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_webhook(webhook: OwnedWebhook, session: SessionDep) -> Response:
    """Remove the endpoint and its delivery log; nothing more is sent to it."""
    await webhooks_service.delete_webhook(session, webhook=webhook)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{webhook_id}/deliveries")
async def list_deliveries(
    webhook: OwnedWebhook, session: SessionDep, page: PageQuery
) -> Page[DeliveryRead]:
    """The endpoint's delivery log, newest first."""
    deliveries, total = await webhooks_service.list_deliveries(
        session, webhook_id=webhook.id, page=page
    )
    items = [DeliveryRead.model_validate(delivery) for delivery in deliveries]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/redeliver", status_code=status.HTTP_202_ACCEPTED
)
async def redeliver(
    webhook: OwnedWebhook, delivery_id: uuid.UUID, session: SessionDep
) -> DeliveryRead:
    """Send the same event (same id) again now, with a new retry window."""
    delivery = await webhooks_service.redeliver(session, webhook=webhook, delivery_id=delivery_id)
    return DeliveryRead.model_validate(delivery)
