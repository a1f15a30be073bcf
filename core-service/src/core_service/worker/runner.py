"""The worker loop: claim a job, do it under a lease, retry with backoff, never lose it.

Retries happen at two levels. Within one claim, tenacity retries an unavailable agent with
exponential backoff and jitter (short blips). If the agent is still down, the job goes back to the
outbox, visible again after a longer backoff that grows with its ``attempts``; that survives
restarts. After ``worker_max_attempts`` the document is marked ``error`` with the reason. A claim
counts as an attempt, so a job whose worker dies every time (a poison job) also ends ``failed``.

Every write about a claimed job names this worker as the holder: once its lease lapsed and
another worker took the job, the write changes nothing, and the worker logs that.
"""

import asyncio
import os
import random
import socket
import uuid
from contextlib import suppress

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from core_service.agent_client.client import AgentClient, create_agent_client
from core_service.agent_client.exceptions import AgentRejected, AgentUnavailable
from core_service.config import Settings
from core_service.database import create_engine, create_sessionmaker
from core_service.jobs import service as jobs_service
from core_service.jobs.models import Job
from core_service.observability.metrics import INGESTION_JOBS
from core_service.worker.handlers import JobContext, LeaseLost, handle_job
from core_service.worker.outcomes import give_up

__all__ = ["Worker", "retry_delay_s", "run_worker"]

_log = structlog.get_logger(__name__)


class WorkerStopping(Exception):
    """The worker was asked to stop while a job was in progress."""


class Worker:
    """Drains the outbox; several may run at once (in one process or many)."""

    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        agent: AgentClient,
        settings: Settings,
        worker_id: str | None = None,
        extraction_slots: asyncio.Semaphore | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.agent = agent
        self.settings = settings
        self.worker_id = worker_id or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.stop = asyncio.Event()
        # Shared by the workers of one process (``run_worker``): the memory a process needs
        # grows with the documents it extracts at once, not with the jobs waiting on the agent.
        self.extraction_slots = extraction_slots or asyncio.Semaphore(
            settings.worker_extraction_concurrency
        )
        self._backoff = wait_exponential_jitter(
            initial=settings.worker_retry_initial_s,
            max=settings.worker_retry_max_s,
            jitter=settings.worker_retry_initial_s,
        )

    async def run(self) -> None:
        """Work until ``stop`` is set; a job in progress is finished or released first."""
        _log.info("worker_started", worker_id=self.worker_id)
        while not self.stop.is_set():
            try:
                worked = await self.run_once()
            except Exception:
                # The database went away (or a bug): the claimed job, if any, keeps its lease
                # and comes back when it ends. Keep polling instead of dying silently.
                _log.exception("worker_loop_failed", worker_id=self.worker_id)
                worked = False
            if not worked:
                with suppress(TimeoutError):
                    await asyncio.wait_for(self.stop.wait(), self.settings.worker_poll_interval_s)
        _log.info("worker_stopped", worker_id=self.worker_id)

    async def run_once(self) -> bool:
        """Claim and process one visible job; False when there was none."""
        job = await self.claim()
        if job is None:
            return False
        await self.process(job)
        return True

    async def claim(self) -> Job | None:
        """Lease the next visible job to this worker."""
        async with self.sessionmaker() as session, session.begin():
            return await jobs_service.claim_next_job(
                session, worker_id=self.worker_id, lease_s=self.settings.worker_lease_s
            )

    async def process(self, job: Job) -> None:
        """Do a claimed job and record the outcome; an unfinished job is never dropped."""
        # The job id stands in for a request id: it goes to the agent as X-Request-ID, so both
        # services' logs of one job line up.
        with structlog.contextvars.bound_contextvars(request_id=f"job-{job.id}"):
            await self._process(job)

    async def _process(self, job: Job) -> None:
        if job.attempts > self.settings.worker_max_attempts:
            await self._give_up_on_lost_attempts(job)
            return
        log = _log.bind(job_id=str(job.id), kind=job.kind, attempt=job.attempts)
        try:
            await self._attempts(job)
        except WorkerStopping:
            await self._release(job)
            log.info("job_released")
        except LeaseLost:
            log.warning("job_lease_lost")
        except AgentUnavailable as error:
            await self._retry_or_give_up(job, f"The agent service was unavailable: {error.detail}")
        except AgentRejected as error:
            await self._give_up(job, f"The agent service refused the document: {error.detail}")
        except Exception as error:
            log.exception("job_crashed")
            await self._retry_or_give_up(
                job, f"Indexing failed unexpectedly ({type(error).__name__})."
            )
        else:
            INGESTION_JOBS.labels(kind=job.kind, state="done").inc()
            log.info("job_done")

    async def _give_up_on_lost_attempts(self, job: Job) -> None:
        """The last allowed claim ended without an outcome: its worker died on the job.

        Only a worker that stops (a crash, SIGKILL, a hang past the lease) leaves no outcome,
        and a job that makes its workers die would otherwise be claimed forever.
        """
        tries = job.attempts - 1
        await self._give_up(
            job,
            f"Gave up after {tries} attempts: the last one never finished (its worker crashed, "
            "was killed or ran out of time).",
        )

    async def _attempts(self, job: Job) -> None:
        context = JobContext(
            sessionmaker=self.sessionmaker,
            agent=self.agent,
            batch_size=self.settings.ingestion_upsert_batch_size,
            renew_lease=lambda: self._continue(job),
            worker_id=self.worker_id,
            settings=self.settings,
            extraction_slots=self.extraction_slots,
        )
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.settings.worker_attempts_per_claim),
            wait=self._backoff,
            retry=retry_if_exception_type(AgentUnavailable),
            sleep=self._sleep_unless_stopping,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                if attempt.retry_state.attempt_number > 1 and not await self._renew(job):
                    raise LeaseLost
                await handle_job(context, job)

    async def _sleep_unless_stopping(self, seconds: float) -> None:
        with suppress(TimeoutError):
            await asyncio.wait_for(self.stop.wait(), seconds)
        if self.stop.is_set():
            raise WorkerStopping

    async def _continue(self, job: Job) -> bool:
        """Between batches: stop if asked to (the job is released), else extend the lease."""
        if self.stop.is_set():
            raise WorkerStopping
        return await self._renew(job)

    async def _renew(self, job: Job) -> bool:
        async with self.sessionmaker() as session, session.begin():
            return await jobs_service.renew_lease(
                session,
                job_id=job.id,
                worker_id=self.worker_id,
                lease_s=self.settings.worker_lease_s,
            )

    async def _release(self, job: Job) -> None:
        async with self.sessionmaker() as session, session.begin():
            held = await jobs_service.release_job(session, job_id=job.id, worker_id=self.worker_id)
        if self._still_held(job, held, "release"):
            INGESTION_JOBS.labels(kind=job.kind, state="released").inc()

    async def _retry_or_give_up(self, job: Job, reason: str) -> None:
        if job.attempts >= self.settings.worker_max_attempts:
            await self._give_up(job, f"{reason} (gave up after {job.attempts} attempts)")
            return
        delay = retry_delay_s(
            job.attempts,
            initial_s=self.settings.worker_retry_initial_s,
            max_s=self.settings.worker_retry_max_s,
        )
        async with self.sessionmaker() as session, session.begin():
            held = await jobs_service.retry_job_later(
                session, job_id=job.id, worker_id=self.worker_id, delay_s=delay, error=reason
            )
        if self._still_held(job, held, "retry"):
            INGESTION_JOBS.labels(kind=job.kind, state="retry").inc()
            _log.warning(
                "job_retry_later", job_id=str(job.id), delay_s=round(delay, 2), reason=reason
            )

    async def _give_up(self, job: Job, reason: str) -> None:
        async with self.sessionmaker() as session, session.begin():
            held = await give_up(session, job=job, worker_id=self.worker_id, reason=reason)
        if self._still_held(job, held, "fail"):
            INGESTION_JOBS.labels(kind=job.kind, state="failed").inc()
            _log.error("job_failed", job_id=str(job.id), kind=job.kind, reason=reason)

    def _still_held(self, job: Job, held: bool, transition: str) -> bool:
        """Log a write that changed nothing because another worker holds the job now."""
        if not held:
            _log.warning(
                "job_stale_write_ignored",
                job_id=str(job.id),
                worker_id=self.worker_id,
                transition=transition,
            )
        return held


def retry_delay_s(attempts: int, *, initial_s: float, max_s: float) -> float:
    """How long a job waits in the outbox after its ``attempts``-th try failed.

    Exponential with jitter, capped at ``max_s``: the jitter spreads out the jobs that failed
    together (the agent was down), so they do not all come back at the same moment.
    """
    exponential = initial_s * 2.0 ** min(attempts - 1, 60)
    jitter = random.uniform(0, initial_s)  # noqa: S311 - spreading load, not a secret
    return min(exponential + jitter, max_s)


async def run_worker(settings: Settings, *, stop: asyncio.Event) -> None:
    """Run ``worker_concurrency`` workers until ``stop`` is set, then close the connections."""
    engine = create_engine(settings)
    sessionmaker = create_sessionmaker(engine)
    # The worker retries on its own terms; the client does not retry underneath it.
    agent = create_agent_client(settings, retry_attempts=1)
    slots = asyncio.Semaphore(settings.worker_extraction_concurrency)
    workers = [
        Worker(sessionmaker=sessionmaker, agent=agent, settings=settings, extraction_slots=slots)
        for _ in range(settings.worker_concurrency)
    ]
    tasks = [asyncio.create_task(worker.run()) for worker in workers]
    try:
        await stop.wait()
        for worker in workers:
            worker.stop.set()
        await asyncio.gather(*tasks)
    finally:
        await agent.aclose()
        await engine.dispose()
