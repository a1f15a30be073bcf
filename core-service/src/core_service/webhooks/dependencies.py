"""``OwnedWebhook``: the one place that turns someone else's endpoint into a 404."""

import uuid
from typing import Annotated

from fastapi import Depends

from core_service.auth.dependencies import CurrentUserId
from core_service.database import SessionDep
from core_service.webhooks import service as webhooks_service
from core_service.webhooks.exceptions import WebhookNotFound
from core_service.webhooks.models import Webhook

__all__ = ["OwnedWebhook", "get_owned_webhook"]


async def get_owned_webhook(
    webhook_id: uuid.UUID, user_id: CurrentUserId, session: SessionDep
) -> Webhook:
    """The caller's endpoint; 404 when it does not exist or belongs to someone else."""
    webhook = await webhooks_service.get_webhook(session, webhook_id=webhook_id, owner_id=user_id)
    if webhook is None:
        raise WebhookNotFound
    return webhook


OwnedWebhook = Annotated[Webhook, Depends(get_owned_webhook)]
