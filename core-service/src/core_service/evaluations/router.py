"""``/api/v1/bots/{bot_id}/evaluations``."""

import uuid

from fastapi import APIRouter, status

from core_service.bots.dependencies import OwnedBot
from core_service.database import SessionDep
from core_service.evaluations import service as evaluations_service
from core_service.evaluations.exceptions import EvaluationNotFound
from core_service.evaluations.schemas import EvaluationCreate, EvaluationRead
from core_service.pagination import Page, PageQuery

__all__ = ["router"]

router = APIRouter(prefix="/bots/{bot_id}/evaluations", tags=["evaluations"])


@router.post("", status_code=status.HTTP_202_ACCEPTED)
async def create_evaluation(
    bot: OwnedBot, session: SessionDep, body: EvaluationCreate
) -> EvaluationRead:
    """Run the questions against the bot's current configuration, in the background."""
    evaluation = await evaluations_service.create_evaluation(session, bot=bot, body=body)
    return EvaluationRead.model_validate(evaluation)


@router.get("")
async def list_evaluations(
    bot: OwnedBot, session: SessionDep, page: PageQuery
) -> Page[EvaluationRead]:
    """The bot's evaluations, newest first."""
    evaluations, total = await evaluations_service.list_evaluations(
        session, bot_id=bot.id, page=page
    )
    items = [EvaluationRead.model_validate(evaluation) for evaluation in evaluations]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/{evaluation_id}")
async def get_evaluation(
    bot: OwnedBot, session: SessionDep, evaluation_id: uuid.UUID
) -> EvaluationRead:
    """One evaluation: its status, summary and per-question results."""
    evaluation = await evaluations_service.get_evaluation(
        session, bot_id=bot.id, evaluation_id=evaluation_id
    )
    if evaluation is None:
        raise EvaluationNotFound
    return EvaluationRead.model_validate(evaluation)
