"""Prometheus HTTP metrics: every request counted and timed by its full route template."""

import time
from dataclasses import dataclass, field

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chatsphere_kit.routes import app_route_table

__all__ = [
    "DURATION_BUCKETS",
    "UNMATCHED_ROUTE",
    "HttpMetrics",
    "HttpMetricsMiddleware",
    "metrics_response",
]

UNMATCHED_ROUTE = "unmatched"
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


@dataclass
class HttpMetrics:
    """The request counter and duration histogram of one service (``chatsphere_<service>_…``)."""

    service: str
    requests: Counter = field(init=False)
    duration: Histogram = field(init=False)
    # The labelled series of each (method, route, status) seen: looking them up by label values
    # on every request cost more than observing them. Bounded as the labels are: route
    # templates, the methods the HTTP parser accepts, status codes.
    _series: dict[tuple[str, str, int], tuple[Counter, Histogram]] = field(
        init=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        self.requests = Counter(
            f"chatsphere_{self.service}_http_requests_total",
            "HTTP requests answered, by method, route template and status code.",
            ["method", "route", "status"],
        )
        self.duration = Histogram(
            f"chatsphere_{self.service}_http_request_duration_seconds",
            "Time from request start to the last byte of the response (streams included).",
            ["method", "route"],
            buckets=DURATION_BUCKETS,
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one answered request and its duration."""
        key = (method, route, status)
        series = self._series.get(key)
        if series is None:
            series = (
                self.requests.labels(method=method, route=route, status=str(status)),
                self.duration.labels(method=method, route=route),
            )
            self._series[key] = series
        series[0].inc()
        series[1].observe(seconds)


class HttpMetricsMiddleware:
    """Counts and times every HTTP request by its route template (never the raw path)."""

    def __init__(self, app: ASGIApp, *, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

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
            # Unknown paths share one label so that scanners cannot blow up the series count.
            route = app_route_table(scope).template_of(scope) or UNMATCHED_ROUTE
            self.metrics.observe(scope["method"], route, status, time.perf_counter() - started)


def metrics_response() -> Response:
    """The Prometheus text exposition of every metric of this process."""
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
