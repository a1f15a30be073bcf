"""The parts of Stripe's event and subscription objects that we use."""

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

__all__ = ["StripeEventBody", "StripeSubscription", "WebhookAck", "WebhookOutcome"]


class _Price(BaseModel):
    id: str = Field(max_length=255)


class _Item(BaseModel):
    price: _Price


class _Items(BaseModel):
    data: list[_Item] = Field(default_factory=list)


class StripeSubscription(BaseModel):
    """A ``subscription`` object, as sent in ``customer.subscription.*`` events."""

    id: str = Field(max_length=255)
    customer: str = Field(max_length=255)
    status: str = Field(max_length=64)
    items: _Items = Field(default_factory=_Items)
    metadata: dict[str, str] = Field(default_factory=dict)

    @property
    def price_id(self) -> str | None:
        """The price of the first item (we sell one plan per subscription)."""
        return self.items.data[0].price.id if self.items.data else None


class _EventData(BaseModel):
    object: dict[str, Any]


class StripeEventBody(BaseModel):
    """A webhook event envelope."""

    id: str = Field(min_length=1, max_length=255)
    type: str = Field(max_length=100)
    created: int = Field(ge=0, le=253_402_300_799, description="Unix time, before year 10000.")
    data: _EventData


class WebhookOutcome(StrEnum):
    """What the webhook did with an event."""

    APPLIED = "applied"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"
    STALE = "stale"


class WebhookAck(BaseModel):
    """The answer Stripe gets (any 2xx means delivered)."""

    received: bool = True
    outcome: WebhookOutcome
