"""Plan bodies of the API."""

import uuid
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from core_service.plans.models import SubscriptionPlan

__all__ = ["PlanLimits", "PlanRead", "plan_limits_of", "plan_read"]


class PlanLimits(BaseModel):
    """What a plan allows; ``max_storage_mb`` null means no storage cap."""

    max_bots: int = Field(description="Bots a user may own at once.")
    max_documents: int = Field(description="Documents a user may keep at once, over all bots.")
    max_messages_per_month: int = Field(description="Chat messages a user may send per month.")
    max_upload_mb: int = Field(description="Largest single upload, in MiB.")
    max_storage_mb: int | None = Field(
        default=None, description="Total stored document bytes, in MiB; null is unlimited."
    )


class PlanRead(BaseModel):
    """A subscription plan as clients see it; ``price`` is a decimal string per month."""

    id: uuid.UUID
    name: str
    price: Decimal
    description: str
    features: list[Any]
    stripe_price_id: str | None
    limits: PlanLimits


def plan_limits_of(plan: SubscriptionPlan) -> PlanLimits:
    """The limits columns of a plan as one object."""
    return PlanLimits(
        max_bots=plan.max_bots,
        max_documents=plan.max_documents,
        max_messages_per_month=plan.max_messages_per_month,
        max_upload_mb=plan.max_upload_mb,
        max_storage_mb=plan.max_storage_mb,
    )


def plan_read(plan: SubscriptionPlan) -> PlanRead:
    """The API body of a plan."""
    return PlanRead(
        id=plan.id,
        name=plan.name,
        price=plan.price,
        description=plan.description,
        features=list(plan.features),
        stripe_price_id=plan.stripe_price_id,
        limits=plan_limits_of(plan),
    )
