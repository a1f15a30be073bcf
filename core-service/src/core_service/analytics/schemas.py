"""Analytics bodies of the API."""

from datetime import datetime

from pydantic import BaseModel, Field

__all__ = ["BotAnalytics", "FeedbackCounts", "UnansweredQuestion"]


class FeedbackCounts(BaseModel):
    """Thumbs given on the bot's answers."""

    up: int
    down: int


class UnansweredQuestion(BaseModel):
    """A question the documents could not answer, grouped by its normalised text."""

    question: str = Field(description="The question as a user last asked it.")
    count: int
    last_asked_at: datetime


class BotAnalytics(BaseModel):
    """A bot's use over the last ``days`` days."""

    days: int
    conversations: int
    messages: int
    end_users: int = Field(description="Distinct end users who talked to the bot.")
    answered_rate: float | None = Field(
        description="Share of answers grounded in the documents; null without answers."
    )
    feedback: FeedbackCounts
    unanswered: list[UnansweredQuestion] = Field(description="The most asked first, at most 20.")
