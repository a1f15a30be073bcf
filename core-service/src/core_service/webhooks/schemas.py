"""Webhook bodies of the API."""

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AnyUrl, BaseModel, ConfigDict, Field, UrlConstraints, field_validator

from core_service.webhooks.models import DeliveryStatus, WebhookEvent

__all__ = ["DeliveryRead", "WebhookCreate", "WebhookCreated", "WebhookRead", "WebhookUpdate"]

WebhookUrl = Annotated[
    AnyUrl, UrlConstraints(max_length=2_000, allowed_schemes=["http", "https"], host_required=True)
]


class WebhookCreate(BaseModel):
    """An endpoint for some events of all the caller's bots, or of one (``bot_id``)."""

    model_config = ConfigDict(extra="forbid")

    url: WebhookUrl = Field(
        description="Where events are POSTed; the web sources' URL rules apply."
    )
    events: list[WebhookEvent] = Field(min_length=1, max_length=len(WebhookEvent))
    bot_id: uuid.UUID | None = Field(default=None, description="Only this bot's events.")

    @field_validator("events")
    @classmethod
    def _distinct(cls, events: list[WebhookEvent]) -> list[WebhookEvent]:
        return list(dict.fromkeys(events))


class WebhookRead(BaseModel):
    """An endpoint; ``enabled`` is false once it failed for a whole retry window."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    url: str
    events: list[WebhookEvent]
    bot_id: uuid.UUID | None
    enabled: bool
    disabled_at: datetime | None
    disabled_reason: str | None = Field(description="Why deliveries stopped; null if enabled.")
    failing_since: datetime | None = Field(
        description="When the current run of failed tries began; null after a success."
    )
    created_at: datetime


class WebhookCreated(WebhookRead):
    """The new endpoint with its signing secret: shown this once."""

    secret: str = Field(description="Verify the ChatSphere-Signature header with it.")


class DeliveryRead(BaseModel):
    """One event sent (or being sent) to the endpoint."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    event_id: uuid.UUID = Field(description="The `id` of the event; the same on every try.")
    event: WebhookEvent
    status: DeliveryStatus
    attempts: int
    response_status: int | None = Field(description="The endpoint's last HTTP status, if any.")
    last_error: str | None = Field(description="Why the last try failed; null after a 2xx.")
    created_at: datetime
    delivered_at: datetime | None


class WebhookUpdate(BaseModel):
    """New events, or ``enabled: true`` to resume a disabled endpoint."""

    model_config = ConfigDict(extra="forbid")

    events: list[WebhookEvent] | None = Field(
        default=None, min_length=1, max_length=len(WebhookEvent)
    )
    enabled: bool | None = None

    @field_validator("events")
    @classmethod
    def _distinct(cls, events: list[WebhookEvent] | None) -> list[WebhookEvent] | None:
        return None if events is None else list(dict.fromkeys(events))
