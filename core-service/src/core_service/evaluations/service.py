"""Evaluations: created with their job, run by the worker, read by the owner.

The worker asks the agent the way a chat turn does (the bot's configuration at run time, no
history) but stores no messages and counts nothing against the message quota: an evaluation
checks the bot, it is not a conversation.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from chatsphere_contracts.v1 import ChatRequest, ChatResponse
from core_service.bots.configuration import BotConfiguration
from core_service.bots.models import Bot, bot_namespace, utcnow
from core_service.evaluations.models import Evaluation, EvaluationStatus
from core_service.evaluations.schemas import (
    EvaluationCreate,
    EvaluationQuestion,
    EvaluationSummary,
    QuestionResult,
)
from core_service.jobs import service as jobs_service
from core_service.pagination import PageParams

__all__ = [
    "EvaluationRun",
    "create_evaluation",
    "fail_run",
    "finish_run",
    "get_evaluation",
    "list_evaluations",
    "score",
    "start_run",
    "summarize",
]

# hit@5 looks at the first five cited documents, whatever the bot's top_k.
_HIT_DEPTH = 5


async def create_evaluation(
    session: AsyncSession, *, bot: Bot, body: EvaluationCreate
) -> Evaluation:
    """Store the evaluation and its job in the caller's transaction (flushed only)."""
    evaluation = Evaluation(
        bot_id=bot.id,
        name=body.name,
        questions=[question.model_dump(mode="json") for question in body.questions],
        results=[],
    )
    session.add(evaluation)
    await session.flush()
    await jobs_service.enqueue_evaluation(session, bot_id=bot.id, evaluation_id=evaluation.id)
    return evaluation


async def get_evaluation(
    session: AsyncSession, *, bot_id: uuid.UUID, evaluation_id: uuid.UUID
) -> Evaluation | None:
    """The bot's evaluation, or None."""
    found = await session.scalars(
        select(Evaluation).where(Evaluation.id == evaluation_id, Evaluation.bot_id == bot_id)
    )
    return found.one_or_none()


async def list_evaluations(
    session: AsyncSession, *, bot_id: uuid.UUID, page: PageParams
) -> tuple[list[Evaluation], int]:
    """One page of the bot's evaluations, newest first, and how many there are."""
    total = await session.scalar(
        select(func.count()).select_from(Evaluation).where(Evaluation.bot_id == bot_id)
    )
    evaluations = await session.scalars(
        select(Evaluation)
        .where(Evaluation.bot_id == bot_id)
        .order_by(Evaluation.created_at.desc(), Evaluation.id)
        .limit(page.limit)
        .offset(page.offset)
    )
    return list(evaluations), total or 0


@dataclass(frozen=True)
class EvaluationRun:
    """What the worker asks: the questions and the request each one is sent in."""

    questions: list[EvaluationQuestion]
    request: ChatRequest

    def request_for(self, question: EvaluationQuestion) -> ChatRequest:
        """The chat request for one question: the bot's configuration, no history."""
        return self.request.model_copy(update={"message": question.question})


async def start_run(session: AsyncSession, *, evaluation_id: uuid.UUID) -> EvaluationRun | None:
    """Mark the evaluation running and read its questions with the bot's configuration now.

    None when the evaluation (or its bot) is gone, or it is done. One that ended ``error``
    runs again: its failed job was put back in the queue.
    """
    row = (
        await session.execute(
            select(Evaluation, Bot.configuration)
            .join(Bot, Bot.id == Evaluation.bot_id)
            .where(Evaluation.id == evaluation_id)
        )
    ).one_or_none()
    if row is None or row[0].status == EvaluationStatus.DONE:
        return None
    evaluation, configuration = row
    evaluation.status, evaluation.error = EvaluationStatus.RUNNING.value, None
    questions = [EvaluationQuestion.model_validate(item) for item in evaluation.questions]
    request = ChatRequest(
        namespace=bot_namespace(evaluation.bot_id),
        message=questions[0].question,
        config=BotConfiguration.model_validate(configuration).chat_config(),
    )
    return EvaluationRun(questions=questions, request=request)


def score(question: EvaluationQuestion, answer: ChatResponse) -> QuestionResult:
    """How the answer did against what the question expected."""
    cited = _cited_documents(answer)
    expected = set(question.expected_document_ids)
    rank = next((i for i, document_id in enumerate(cited, 1) if document_id in expected), None)
    retrieval = bool(expected)
    return QuestionResult(
        question=question.question,
        answered=answer.answered,
        cited_document_ids=cited,
        rank=rank,
        hit_at_1=rank == 1 if retrieval else None,
        hit_at_5=(rank is not None and rank <= _HIT_DEPTH) if retrieval else None,
        answer_contains_expected=(
            None
            if question.expected_answer is None
            else question.expected_answer.casefold() in answer.answer.casefold()
        ),
    )


def _cited_documents(answer: ChatResponse) -> list[uuid.UUID]:
    """The documents cited, each once, in the order first cited."""
    cited: dict[uuid.UUID, None] = {}
    for citation in answer.citations:
        try:
            cited.setdefault(uuid.UUID(citation.document_id), None)
        except ValueError:
            continue  # not one of our documents: it cannot be a hit
    return list(cited)


def summarize(results: Sequence[QuestionResult]) -> EvaluationSummary:
    """Averages: retrieval over the questions that expect documents, answered over all."""
    ranked = [result for result in results if result.hit_at_1 is not None]
    return EvaluationSummary(
        questions=len(results),
        hit_at_1=_mean([bool(r.hit_at_1) for r in ranked]),
        hit_at_5=_mean([bool(r.hit_at_5) for r in ranked]),
        mrr=_mean([1 / r.rank if r.rank else 0.0 for r in ranked]),
        answered_rate=_mean([r.answered for r in results]) or 0.0,
    )


def _mean(values: Sequence[float]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


async def finish_run(
    session: AsyncSession, *, evaluation_id: uuid.UUID, results: Sequence[QuestionResult]
) -> None:
    """Store the results and the summary; the evaluation is done."""
    await _close(
        session,
        evaluation_id=evaluation_id,
        status=EvaluationStatus.DONE,
        results=[result.model_dump(mode="json") for result in results],
        summary=summarize(results).model_dump(mode="json"),
    )


async def fail_run(session: AsyncSession, *, evaluation_id: uuid.UUID, reason: str) -> None:
    """The agent refused a question: the evaluation ends ``error`` with the reason."""
    await _close(
        session, evaluation_id=evaluation_id, status=EvaluationStatus.ERROR, error=reason[:2_000]
    )


async def _close(
    session: AsyncSession, *, evaluation_id: uuid.UUID, status: EvaluationStatus, **values: Any
) -> None:
    evaluation = await session.get(Evaluation, evaluation_id)
    if evaluation is None:
        return  # deleted with its bot meanwhile
    evaluation.status = status.value
    evaluation.finished_at = utcnow()
    for field, value in values.items():
        setattr(evaluation, field, value)
    await session.flush()
