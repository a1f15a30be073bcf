"""Usage bodies of the API."""

from datetime import datetime

from pydantic import BaseModel, Field

__all__ = ["MetricUsage", "UsageRead"]


class MetricUsage(BaseModel):
    """Use of one metric against its limit (null: unlimited)."""

    used: int
    limit: int | None


class UsageRead(BaseModel):
    """The caller's use this period against their plan."""

    plan: str = Field(description="Name of the caller's plan.")
    period_start: datetime = Field(description="Start of the monthly period (UTC).")
    period_end: datetime = Field(description="When monthly counters reset (UTC).")
    messages: MetricUsage = Field(description="Chat messages this month.")
    documents: MetricUsage = Field(description="Documents kept now.")
    bots: MetricUsage = Field(description="Bots owned now.")
    stored_bytes: MetricUsage = Field(description="Bytes of stored documents now.")
