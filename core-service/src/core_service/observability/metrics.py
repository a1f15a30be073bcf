"""Prometheus metrics: the series every part of core observes, and how they are served.

The metric objects live in the process-wide default registry, so a feature module observes them
with a plain import (``from core_service.observability import metrics``). The API serves them at
``/metrics``; the worker, which has no HTTP server of its own, serves them on its own port.
"""

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from wsgiref.simple_server import WSGIServer

import structlog
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    start_http_server,
)
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core_service.jobs.metrics import refresh_job_metrics
from core_service.jobs.models import JobKind

__all__ = [
    "AGENT_CALL_DURATION",
    "HTTP_REQUEST_DURATION",
    "HTTP_REQUESTS",
    "INGESTION_JOBS",
    "JOB_QUEUE_DEPTH",
    "HttpMetricsMiddleware",
    "metrics_endpoint",
    "refresh_queue_depth",
    "serving_worker_metrics",
    "start_worker_metrics_server",
]

UNMATCHED_ROUTE = "unmatched"
QUEUE_DEPTH_TIMEOUT_S = 1.0
_QUEUE_DEPTH_QUERY = text(
    "SELECT kind, count(*) FROM jobs WHERE state = 'pending' AND visible_after <= now() "
    "GROUP BY kind"
)
_log = structlog.get_logger(__name__)

HTTP_REQUESTS = Counter(
    "chatsphere_core_http_requests_total",
    "HTTP requests answered, by method, route template and status code.",
    ["method", "route", "status"],
)
HTTP_REQUEST_DURATION = Histogram(
    "chatsphere_core_http_request_duration_seconds",
    "Time from request start to the last byte of the response (streams included).",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
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


class HttpMetricsMiddleware:
    """Counts and times every HTTP request by its route template (never the raw path)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_record_status)
        finally:
            # The router fills in scope["route"]; unknown paths share one label so that
            # scanners cannot blow up the number of series.
            route = getattr(scope.get("route"), "path", UNMATCHED_ROUTE)
            count, duration = _request_series(scope["method"], route, status)
            count.inc()
            duration.observe(time.perf_counter() - started)


# The labelled series of each (method, route, status) seen: looking them up by label values on
# every request cost more than observing them. Bounded as the labels are: route templates, the
# methods the HTTP parser accepts, status codes.
_REQUEST_SERIES: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}


def _request_series(method: str, route: str, status: int) -> tuple[Counter, Histogram]:
    key = (method, route, status)
    series = _REQUEST_SERIES.get(key)
    if series is None:
        series = (
            HTTP_REQUESTS.labels(method=method, route=route, status=str(status)),
            HTTP_REQUEST_DURATION.labels(method=method, route=route),
        )
        _REQUEST_SERIES[key] = series
    return series


async def metrics_endpoint(request: Request) -> Response:
    """The Prometheus text exposition of every metric of this process."""
    engine: AsyncEngine | None = getattr(request.app.state, "engine", None)
    if engine is not None:
        await refresh_queue_depth(engine)
        await refresh_job_metrics(engine)
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


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
