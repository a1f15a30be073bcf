"""Feedback bodies of the API."""

from pydantic import BaseModel, ConfigDict, Field

from chatsphere_contracts.v1 import StorableText
from core_service.conversations.schemas import FeedbackRating

__all__ = ["FeedbackCreate"]


class FeedbackCreate(BaseModel):
    """A rating of an answer; giving it again replaces the earlier one."""

    model_config = ConfigDict(extra="forbid")

    rating: FeedbackRating
    comment: StorableText | None = Field(default=None, max_length=2_000)
