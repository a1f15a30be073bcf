"""``/api/v1/admin``: staff only (403 for everyone else)."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from core_service.admin import service as admin_service
from core_service.admin.schemas import (
    JobRead,
    PlanChange,
    PlanUpdate,
    ReindexQueued,
    ReindexRequest,
    UserPage,
)
from core_service.auth.dependencies import StaffUser
from core_service.bots.models import utcnow
from core_service.database import SessionDep
from core_service.documents import service as documents_service
from core_service.jobs.models import JobState
from core_service.pagination import Page, PageQuery
from core_service.plans.schemas import PlanRead, plan_read
from core_service.users import service as users_service
from core_service.users.schemas import UserRead, user_read

__all__ = ["router"]

router = APIRouter(prefix="/admin", tags=["admin"])


@router.get("/users", response_model=UserPage)
async def list_users(
    session: SessionDep,
    _: StaffUser,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> UserPage:
    """Every account, oldest first."""
    users, total = await users_service.list_users(session, limit=limit, offset=offset)
    return UserPage(items=[user_read(u) for u in users], total=total, limit=limit, offset=offset)


@router.put("/users/{user_id}/plan", response_model=UserRead)
async def change_plan(
    session: SessionDep, staff: StaffUser, user_id: uuid.UUID, body: PlanChange
) -> UserRead:
    """Move a user to another plan."""
    user = await admin_service.change_plan(
        session, actor=staff, user_id=user_id, plan_name=body.plan
    )
    return user_read(user)


@router.post("/users/{user_id}/deactivate", response_model=UserRead)
async def deactivate(session: SessionDep, staff: StaffUser, user_id: uuid.UUID) -> UserRead:
    """Deactivate an account: its tokens stop working at once."""
    user = await admin_service.set_active(session, actor=staff, user_id=user_id, active=False)
    return user_read(user)


@router.post("/users/{user_id}/activate", response_model=UserRead)
async def activate(session: SessionDep, staff: StaffUser, user_id: uuid.UUID) -> UserRead:
    """Reactivate an account (the user logs in again)."""
    user = await admin_service.set_active(session, actor=staff, user_id=user_id, active=True)
    return user_read(user)


@router.patch("/plans/{name}", response_model=PlanRead)
async def update_plan(session: SessionDep, _: StaffUser, name: str, body: PlanUpdate) -> PlanRead:
    """Change a plan's price, description, features, Stripe price id or limits."""
    return plan_read(await admin_service.update_plan(session, name=name, changes=body))


@router.get("/jobs", response_model=Page[JobRead])
async def list_jobs(
    session: SessionDep, _: StaffUser, page: PageQuery, state: JobState | None = None
) -> Page[JobRead]:
    """Background jobs, most recently changed first; ``state=failed`` lists those given up on."""
    jobs, total = await admin_service.list_jobs(session, state=state, page=page)
    items = [JobRead.model_validate(job) for job in jobs]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.post("/jobs/{job_id}/retry", response_model=JobRead, status_code=202)
async def retry_job(session: SessionDep, staff: StaffUser, job_id: uuid.UUID) -> JobRead:
    """Put a failed job back in the queue with its attempts reset (409 if it is not failed)."""
    job = await admin_service.retry_job(session, actor=staff, job_id=job_id)
    return JobRead.model_validate(job)


@router.post("/reindex", response_model=ReindexQueued, status_code=202)
async def reindex_documents(
    session: SessionDep, _: StaffUser, body: ReindexRequest | None = None
) -> ReindexQueued:
    """Queue a re-index of ready documents indexed before a cutoff (after an embedder change)."""
    cutoff = body.indexed_before if body and body.indexed_before else utcnow()
    queued = await documents_service.reindex_ready_documents(
        session, indexed_before=cutoff, limit=body.limit if body else 1_000
    )
    return ReindexQueued(queued=queued, indexed_before=cutoff)
