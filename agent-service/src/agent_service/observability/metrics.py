"""Prometheus metrics: the series every part of the agent observes, and ``/metrics``.

The metric objects live in the process-wide default registry, so a provider adapter observes them
with a plain import (``from agent_service.observability import metrics``), for example
``with metrics.EMBEDDING_DURATION.labels(provider="gemini").time(): ...``.
"""

import time

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "EMBEDDING_DURATION",
    "HTTP_REQUEST_DURATION",
    "HTTP_REQUESTS",
    "LLM_DURATION",
    "LLM_TOKENS",
    "HttpMetricsMiddleware",
    "metrics_endpoint",
]

UNMATCHED_ROUTE = "unmatched"
_MODEL_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)

HTTP_REQUESTS = Counter(
    "chatsphere_agent_http_requests_total",
    "HTTP requests answered, by method, route template and status code.",
    ["method", "route", "status"],
)
HTTP_REQUEST_DURATION = Histogram(
    "chatsphere_agent_http_request_duration_seconds",
    "Time from request start to the last byte of the response (streams included).",
    ["method", "route"],
    buckets=_MODEL_BUCKETS,
)
EMBEDDING_DURATION = Histogram(
    "chatsphere_agent_embedding_duration_seconds",
    "Time to embed one batch of texts, by embedding provider (hash, local, gemini).",
    ["provider"],
    buckets=_MODEL_BUCKETS,
)
LLM_DURATION = Histogram(
    "chatsphere_agent_llm_duration_seconds",
    "Time of one answer generation (the whole stream when streaming), by chat provider.",
    ["provider"],
    buckets=_MODEL_BUCKETS,
)
LLM_TOKENS = Counter(
    "chatsphere_agent_llm_tokens_total",
    "Tokens sent to (input) and received from (output) chat models, by provider.",
    ["provider", "direction"],
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
            method = scope["method"]
            HTTP_REQUESTS.labels(method=method, route=route, status=str(status)).inc()
            HTTP_REQUEST_DURATION.labels(method=method, route=route).observe(
                time.perf_counter() - started
            )


async def metrics_endpoint(_request: Request) -> Response:
    """The Prometheus text exposition of every metric of this process."""
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
