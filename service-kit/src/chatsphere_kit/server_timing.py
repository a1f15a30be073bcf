"""``Server-Timing``: where a request's time went, in a standard header browsers' tools show.

Code that knows a phase's duration records it with ``record_duration``; the request middleware
(``RequestContextMiddleware``) adds the request's own time and sends them with the response
headers. Durations recorded after the headers were sent (a stream's end) are not sent.
"""

import re
from contextvars import ContextVar

__all__ = ["SERVER_TIMING_HEADER", "collect_durations", "header_value", "record_duration"]

SERVER_TIMING_HEADER = b"server-timing"
# A metric name is an RFC 7230 token; ours are plain words.
_METRIC_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")

_durations: ContextVar[dict[str, float] | None] = ContextVar("server_timing", default=None)


def collect_durations() -> dict[str, float]:
    """Start collecting the current request's durations (called by the request middleware)."""
    durations: dict[str, float] = {}
    _durations.set(durations)
    return durations


def record_duration(name: str, milliseconds: float) -> None:
    """Add ``milliseconds`` to the phase ``name`` of the current request (outside a request,
    nothing happens)."""
    durations = _durations.get()
    if durations is not None:
        if not _METRIC_NAME.match(name):
            raise ValueError(f"not a Server-Timing metric name: {name!r}")
        durations[name] = durations.get(name, 0.0) + milliseconds


def header_value(durations: dict[str, float], *, total_ms: float) -> bytes:
    """``name;dur=ms`` for each phase, then ``total`` (the time until the headers were sent)."""
    entries = [*durations.items(), ("total", total_ms)]
    return ", ".join(f"{name};dur={ms:.1f}" for name, ms in entries).encode()
