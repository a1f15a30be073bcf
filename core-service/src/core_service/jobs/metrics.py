"""The outbox's state in Prometheus, read from the jobs table when ``/metrics`` is scraped.

Read at scrape time rather than counted by the workers, so the numbers are right with any number
of workers, after restarts, and for jobs whose worker died. One grouped query over a table that
only holds unfinished and failed jobs keeps a scrape cheap.
"""

import asyncio

import structlog
from prometheus_client import Gauge
from sqlalchemy import Float, case, extract, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from core_service.jobs.models import Job, JobState

__all__ = ["JOBS", "OLDEST_PENDING_AGE", "refresh_job_metrics"]

REFRESH_TIMEOUT_S = 1.0
_log = structlog.get_logger(__name__)

JOBS = Gauge(
    "chatsphere_core_jobs",
    "Outbox jobs by state: pending (waiting, including retries in backoff), running (claimed), "
    "failed (given up; staff can re-queue them).",
    ["state"],
)
OLDEST_PENDING_AGE = Gauge(
    "chatsphere_core_jobs_oldest_pending_age_seconds",
    "Age of the oldest pending job (0 when none): how far behind the workers are.",
)

_pending_age = extract("epoch", func.now() - Job.created_at).cast(Float)
_BY_STATE = select(
    Job.state,
    func.count(),
    func.max(case((Job.state == JobState.PENDING.value, _pending_age))),
).group_by(Job.state)


async def refresh_job_metrics(engine: AsyncEngine) -> None:
    """Set the gauges from the jobs table; a slow or failing database keeps the last values.

    A scrape must neither fail nor hang because the database does.
    """
    try:
        async with asyncio.timeout(REFRESH_TIMEOUT_S), engine.connect() as connection:
            rows = (await connection.execute(_BY_STATE)).all()
    except Exception as error:  # noqa: BLE001 - any failure only skips this refresh
        _log.warning("job_metrics_unavailable", error=type(error).__name__)
        return
    counts = {str(state): int(count) for state, count, _ in rows}
    for state in JobState:
        JOBS.labels(state=state.value).set(counts.get(state.value, 0))
    ages = [float(age) for _, _, age in rows if age is not None]
    OLDEST_PENDING_AGE.set(max(ages, default=0.0))
