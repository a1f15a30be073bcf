"""Prometheus metrics: the series every part of core observes, and how they are served.

The metric objects live in the process-wide default registry, so a feature module observes them
with a plain import (``from core_service.observability import metrics``). The API serves them at
``/metrics``; the worker, which has no HTTP server of its own, serves them on its own port.
"""

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from wsgiref.simple_server import WSGIServer

import structlog
from prometheus_client import Counter, Gauge, Histogram, start_http_server
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import Response

from chatsphere_kit.observability.metrics import HttpMetrics, metrics_response
from core_service.jobs.metrics import refresh_job_metrics
from core_service.jobs.models import JobKind

__all__ = [
    "AGENT_CALL_DURATION",
    "HTTP_METRICS",
    "INGESTION_JOBS",
    "JOB_QUEUE_DEPTH",
    "metrics_endpoint",
    "refresh_queue_depth",
    "serving_worker_metrics",
    "start_worker_metrics_server",
]

QUEUE_DEPTH_TIMEOUT_S = 1.0
_QUEUE_DEPTH_QUERY = text(
    "SELECT kind, count(*) FROM jobs WHERE state = 'pending' AND visible_after <= now() "
    "GROUP BY kind"
)
_log = structlog.get_logger(__name__)

HTTP_METRICS = HttpMetrics("core")
AGENT_CALL_DURATION = Histogram(
    "chatsphere_core_agent_call_duration_seconds",
    "Calls from core to the agent (streams until their end), by endpoint and outcome "
    "(ok, error, unavailable, cancelled).",
    ["endpoint", "outcome"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
INGESTION_JOBS = Counter(
    "chatsphere_core_ingestion_jobs_total",
    "Outbox jobs finished by the worker, by job kind and the state they reached.",
    ["kind", "state"],
)
JOB_QUEUE_DEPTH = Gauge(
    "chatsphere_core_job_queue_depth",
    "Outbox jobs waiting to be claimed, by job kind.",
    ["kind"],
)


async def metrics_endpoint(request: Request) -> Response:
    """The Prometheus text exposition of every metric of this process."""
    engine: AsyncEngine | None = getattr(request.app.state, "engine", None)
    if engine is not None:
        await refresh_queue_depth(engine)
        await refresh_job_metrics(engine)
    return metrics_response()


async def refresh_queue_depth(engine: AsyncEngine) -> None:
    """Read the outbox backlog at scrape time, so the number is right with any worker count.

    A slow or failing database leaves the last values in place: a scrape must not fail or hang.
    """
    try:
        async with asyncio.timeout(QUEUE_DEPTH_TIMEOUT_S), engine.connect() as connection:
            rows = (await connection.execute(_QUEUE_DEPTH_QUERY)).all()
    except Exception as error:  # noqa: BLE001 - any failure only skips this refresh
        _log.warning("queue_depth_unavailable", error=type(error).__name__)
        return
    depth = {str(kind): int(count) for kind, count in rows}
    for kind in {*JobKind, *depth}:
        JOB_QUEUE_DEPTH.labels(kind=str(kind)).set(depth.get(kind, 0))


def start_worker_metrics_server(port: int, *, host: str = "0.0.0.0") -> WSGIServer:  # noqa: S104
    """Serve this process's metrics on ``port`` from a daemon thread; call ``shutdown()`` to stop.

    The worker's container health check and Prometheus both scrape this port.
    """
    server, _thread = start_http_server(port, addr=host)
    return server


@contextmanager
def serving_worker_metrics(port: int | None) -> Iterator[None]:
    """Serve the worker's metrics on ``port`` while the block runs (nothing when it is None)."""
    if port is None:
        yield
        return
    server = start_worker_metrics_server(port)
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
