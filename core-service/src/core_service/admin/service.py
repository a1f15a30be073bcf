"""What staff may do to accounts and plans."""

import uuid
from collections.abc import Sequence

import structlog
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core_service.admin.exceptions import (
    CannotDeactivateSelf,
    JobNotFailed,
    JobNotFound,
    StripePriceTaken,
)
from core_service.admin.schemas import PlanUpdate
from core_service.auth import service as auth_service
from core_service.documents.models import Document, DocumentStatus
from core_service.jobs import service as jobs_service
from core_service.jobs.models import Job, JobKind, JobState
from core_service.pagination import PageParams
from core_service.plans import service as plans_service
from core_service.plans.models import SubscriptionPlan
from core_service.users import service as users_service
from core_service.users.models import User

__all__ = ["change_plan", "list_jobs", "retry_job", "set_active", "update_plan"]

_log = structlog.get_logger(__name__)


async def change_plan(
    session: AsyncSession, *, actor: User, user_id: uuid.UUID, plan_name: str
) -> User:
    """Move a user to another plan."""
    user = await users_service.require_user(session, user_id=user_id)
    plan = await plans_service.get_plan_by_name(session, name=plan_name)
    user.subscription_plan_id = plan.id
    user.subscription_plan = plan
    await session.flush()
    _log.info("user_plan_changed", user_id=str(user.id), plan=plan.name, by=str(actor.id))
    return user


async def set_active(
    session: AsyncSession, *, actor: User, user_id: uuid.UUID, active: bool
) -> User:
    """(De)activate an account; either change ends its access and refresh tokens at once."""
    if not active and user_id == actor.id:
        raise CannotDeactivateSelf
    user = await users_service.require_user(session, user_id=user_id)
    user.is_active = active
    await auth_service.end_sessions(session, user=user)
    await session.flush()
    _log.info("user_active_changed", user_id=str(user.id), active=active, by=str(actor.id))
    return user


async def update_plan(session: AsyncSession, *, name: str, changes: PlanUpdate) -> SubscriptionPlan:
    """Change a plan's price, description, features, Stripe price or limits."""
    plan = await plans_service.get_plan_by_name(session, name=name)
    values = changes.model_dump(exclude_unset=True)
    price_id = values.get("stripe_price_id")
    if price_id is not None:
        other = await session.scalar(
            select(SubscriptionPlan.id).where(
                SubscriptionPlan.stripe_price_id == price_id, SubscriptionPlan.id != plan.id
            )
        )
        if other is not None:
            raise StripePriceTaken
    for field, value in values.items():
        if value is not None or field in {"stripe_price_id", "max_storage_mb"}:
            setattr(plan, field, value)
    await session.flush()
    return plan


async def list_jobs(
    session: AsyncSession, *, state: JobState | None, page: PageParams
) -> tuple[Sequence[Job], int]:
    """A page of the outbox's jobs (in ``state`` if given), most recently changed first."""
    condition = Job.state == state.value if state is not None else None
    listed = select(Job).order_by(Job.updated_at.desc(), Job.id)
    counted = select(func.count()).select_from(Job)
    if condition is not None:
        listed, counted = listed.where(condition), counted.where(condition)
    jobs = (await session.scalars(listed.limit(page.limit).offset(page.offset))).all()
    return jobs, int(await session.scalar(counted) or 0)


async def retry_job(session: AsyncSession, *, actor: User, job_id: uuid.UUID) -> Job:
    """Re-queue a failed job with its attempts reset; its document is ``processing`` again."""
    job = await jobs_service.requeue_failed_job(session, job_id=job_id)
    if job is None:
        exists = await session.scalar(select(Job.id).where(Job.id == job_id))
        raise JobNotFound if exists is None else JobNotFailed
    if job.kind == JobKind.INDEX_DOCUMENT.value and job.document_id is not None:
        await session.execute(
            update(Document)
            .where(Document.id == job.document_id)
            .values(status=DocumentStatus.PROCESSING.value, error=None)
        )
    _log.info("job_requeued", job_id=str(job.id), kind=job.kind, by=str(actor.id))
    return job
