"""Staff-only bodies of the API."""

from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from core_service.users.schemas import UserRead

__all__ = ["PlanChange", "PlanUpdate", "UserPage"]

_MAX_INT = 2_147_483_647  # the limit columns are PostgreSQL integers


class UserPage(BaseModel):
    """A page of users."""

    items: list[UserRead]
    total: int
    limit: int
    offset: int


class PlanChange(BaseModel):
    """``PUT /admin/users/{id}/plan``: move a user to the plan with this name."""

    plan: str = Field(min_length=1, max_length=50, description="Plan name, e.g. 'pro'.")


class PlanUpdate(BaseModel):
    """``PATCH /admin/plans/{name}``: only the given fields change."""

    price: Decimal | None = Field(default=None, ge=0, max_digits=10, decimal_places=2)
    description: str | None = Field(default=None, max_length=2_000)
    features: list[Any] | None = None
    stripe_price_id: str | None = Field(default=None, max_length=255)
    max_bots: int | None = Field(default=None, ge=0, le=_MAX_INT)
    max_documents: int | None = Field(default=None, ge=0, le=_MAX_INT)
    max_messages_per_month: int | None = Field(default=None, ge=0, le=_MAX_INT)
    max_upload_mb: int | None = Field(default=None, ge=1, le=_MAX_INT)
    max_storage_mb: int | None = Field(default=None, ge=0, le=_MAX_INT)
