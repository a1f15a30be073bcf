"""Staff-only bodies of the API."""

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from core_service.jobs.models import JobState
from core_service.users.schemas import UserRead

__all__ = ["JobRead", "PlanChange", "PlanUpdate", "ReindexQueued", "ReindexRequest", "UserPage"]

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


class JobRead(BaseModel):
    """A job of the outbox, as staff see it (its payload stays internal)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: str = Field(description="What the job does, e.g. 'index_document'.")
    state: JobState
    attempts: int = Field(description="Claims so far; reset when staff re-queue the job.")
    last_error: str | None = Field(description="Why the last attempt failed, if one did.")
    owner_id: uuid.UUID = Field(description="The user the job works for.")
    bot_id: uuid.UUID
    document_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class ReindexRequest(BaseModel):
    """``POST /admin/reindex``: re-index ready documents, e.g. after changing the embedder."""

    indexed_before: AwareDatetime | None = Field(
        default=None,
        description=(
            "Only documents last indexed before this time; default: now. Pass the value a "
            "previous call returned to resume it without re-indexing a document twice."
        ),
    )
    limit: int = Field(default=1_000, ge=1, le=10_000, description="Documents queued per call.")


class ReindexQueued(BaseModel):
    """What a ``POST /admin/reindex`` queued; call again with ``indexed_before`` until 0."""

    queued: int = Field(description="Documents queued for re-indexing by this call.")
    indexed_before: datetime = Field(description="The cutoff used; pass it to the next call.")
