"""Evaluation bodies of the API."""

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from chatsphere_contracts.v1 import MAX_MESSAGE_CHARS, StorableText

__all__ = [
    "EvaluationCreate",
    "EvaluationQuestion",
    "EvaluationRead",
    "EvaluationSummary",
    "QuestionResult",
]


class EvaluationQuestion(BaseModel):
    """A question and what a good answer cites or says."""

    model_config = ConfigDict(extra="forbid")

    question: StorableText = Field(min_length=1, max_length=MAX_MESSAGE_CHARS)
    expected_document_ids: list[uuid.UUID] = Field(
        default_factory=list, max_length=20, description="Any of these cited counts as a hit."
    )
    expected_answer: StorableText | None = Field(
        default=None, min_length=1, max_length=2_000, description="Text the answer should contain."
    )


class EvaluationCreate(BaseModel):
    """A question set to run against the bot's current configuration."""

    model_config = ConfigDict(extra="forbid")

    name: StorableText | None = Field(default=None, max_length=200)
    questions: list[EvaluationQuestion] = Field(min_length=1, max_length=200)


class QuestionResult(BaseModel):
    """What the bot did with one question; figures are null where nothing was expected."""

    question: str
    answered: bool
    cited_document_ids: list[uuid.UUID] = Field(description="Cited documents, in citation order.")
    rank: int | None = Field(description="Position of the first expected document cited.")
    hit_at_1: bool | None
    hit_at_5: bool | None
    answer_contains_expected: bool | None


class EvaluationSummary(BaseModel):
    """Averages over the questions; retrieval figures over those with expected documents."""

    questions: int
    hit_at_1: float | None
    hit_at_5: float | None
    mrr: float | None
    answered_rate: float


class EvaluationRead(BaseModel):
    """An evaluation run as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    bot_id: uuid.UUID
    name: str | None
    status: Literal["pending", "running", "done", "error"]
    error: str | None
    created_at: datetime
    finished_at: datetime | None
    summary: EvaluationSummary | None
    results: list[QuestionResult]
