"""Prometheus metrics: the series every part of the agent observes, and ``/metrics``.

The metric objects live in the process-wide default registry, so a provider adapter observes them
with a plain import (``from agent_service.observability import metrics``), for example
``with metrics.EMBEDDING_DURATION.labels(provider="gemini").time(): ...``.
"""

from prometheus_client import Counter, Histogram
from starlette.requests import Request
from starlette.responses import Response

from chatsphere_kit.observability.metrics import DURATION_BUCKETS, HttpMetrics, metrics_response

__all__ = [
    "EMBEDDING_DURATION",
    "HTTP_METRICS",
    "LLM_DURATION",
    "LLM_TOKENS",
    "metrics_endpoint",
]

_MODEL_BUCKETS = DURATION_BUCKETS

HTTP_METRICS = HttpMetrics("agent")
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


async def metrics_endpoint(_request: Request) -> Response:
    """The Prometheus text exposition of every metric of this process."""
    return metrics_response()
