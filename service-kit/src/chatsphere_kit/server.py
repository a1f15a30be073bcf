"""The HTTP server of a service: uvicorn with limits on what a client may make it hold.

uvicorn's httptools protocol reads request headers without a size cap and waits for them without
a deadline, so one client could make a process buffer gigabytes of headers or keep connections
open forever by sending a byte now and then. ``LimitedHttpToolsProtocol`` adds both limits;
``serve`` runs a service's app factory with them, as the images and ``make run`` do.
"""

import argparse
import asyncio
import functools
from dataclasses import dataclass
from typing import Any, ClassVar

import uvicorn
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.supervisors import Multiprocess

from chatsphere_kit.middleware import MAX_REQUEST_HEADER_BYTES, MAX_REQUEST_HEADERS
from chatsphere_kit.settings import ServiceSettings

__all__ = [
    "LimitedHttpToolsProtocol",
    "LimitedProtocolFactory",
    "limited_protocol",
    "serve",
    "serve_from_command_line",
]

# uvicorn waits forever for open connections unless told; 20 s stays inside Kubernetes' default
# 30 s grace period after the preStop pause.
GRACEFUL_SHUTDOWN_S = 20
WORKER_HEALTHCHECK_S = 60


class _HeadersRefused(Exception):
    """Raised from a parser callback to stop parsing a request that broke a header limit."""


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """httptools with a cap on header bytes and fields and a deadline for receiving them.

    Bytes are counted as they arrive, before the parser buffers more of them, so a request is
    cut after at most the cap plus one socket read. The deadline runs from the connection (or
    the first byte of a later request) to the end of the headers; a connection that has sent
    no complete header block by then is answered 408 and closed.
    """

    max_header_bytes: ClassVar[int] = 65_536
    max_headers: ClassVar[int] = 100
    header_timeout_s: ClassVar[float] = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._reading_headers = False
        self._header_bytes = 0
        self._refusal: int | None = None
        self._header_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        was_reading = self._reading_headers
        super().data_received(data)
        if self._reading_headers and not self.transport.is_closing():
            # A request that began inside this read owns at most all of its bytes.
            self._header_bytes = self._header_bytes + len(data) if was_reading else len(data)
            if self._header_bytes > self.max_header_bytes:
                self._refuse(431)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._reading_headers = True
        self._header_bytes = 0
        if self._header_deadline is None:
            self._arm_header_deadline()

    def on_headers_complete(self) -> None:
        self._reading_headers = False
        self._cancel_header_deadline()
        # Counted once here rather than per field: the byte cap already bounds the list.
        if len(self.headers) > self.max_headers:
            self._refusal = 431
            raise _HeadersRefused
        super().on_headers_complete()

    def send_400_response(self, msg: str) -> None:
        # A limit hit inside a parser callback reaches uvicorn as a parse error.
        if self._refusal is None:
            super().send_400_response(msg)
        else:
            self._refuse(self._refusal)

    def _refuse(self, status: int) -> None:
        if self.transport.is_closing():
            return
        self.logger.warning("Request refused before its headers were read: %d.", status)
        # Behind a response still being written (pipelining), a status line would corrupt it.
        if self.cycle is None or self.cycle.response_complete:
            self.transport.write(
                STATUS_LINE[status] + b"content-length: 0\r\nconnection: close\r\n\r\n"
            )
        self.transport.close()

    def _arm_header_deadline(self) -> None:
        self._header_deadline = self.loop.call_later(self.header_timeout_s, self._headers_late)

    def _cancel_header_deadline(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_late(self) -> None:
        self._header_deadline = None
        if self.cycle is None or self._reading_headers:
            self._refuse(408)


def limited_protocol(settings: ServiceSettings) -> type[LimitedHttpToolsProtocol]:
    """The protocol class with this service's limits."""
    return _protocol_class(
        MAX_REQUEST_HEADER_BYTES, MAX_REQUEST_HEADERS, settings.request_header_timeout_s
    )


@dataclass(frozen=True)
class LimitedProtocolFactory:
    """Makes the limited protocol for each connection, as ``limited_protocol``'s class does.

    Worker processes receive the server's configuration pickled, and a class made at run time
    cannot be pickled; this plain object can, and makes the same class in each worker.
    """

    max_header_bytes: int
    max_headers: int
    header_timeout_s: float

    def __call__(self, **kwargs: Any) -> LimitedHttpToolsProtocol:
        """One connection's protocol (uvicorn passes its config and state by keyword)."""
        return _protocol_class(self.max_header_bytes, self.max_headers, self.header_timeout_s)(
            **kwargs
        )


@functools.cache
def _protocol_class(
    max_header_bytes: int, max_headers: int, header_timeout_s: float
) -> type[LimitedHttpToolsProtocol]:
    limits = {
        "max_header_bytes": max_header_bytes,
        "max_headers": max_headers,
        "header_timeout_s": header_timeout_s,
    }
    return type("ServiceHttpProtocol", (LimitedHttpToolsProtocol,), limits)


def serve(
    factory: str,
    settings: ServiceSettings,
    *,
    host: str,
    port: int,
    loop: str = "uvloop",
    http: str = "httptools",
    graceful_shutdown_s: int = GRACEFUL_SHUTDOWN_S,
    forwarded_allow_ips: str | None = None,
    workers: int = 1,
) -> None:
    """Run ``factory`` (``module:create_app``) until SIGTERM or Ctrl-C, with the limits.

    ``http="h11"`` caps the header size through h11's own limit, but has no header deadline.
    ``workers`` above 1 runs that many processes sharing the port, each with its own app.
    """
    config = uvicorn.Config(
        factory,
        factory=True,
        host=host,
        port=port,
        loop=loop,
        http=_http_protocol(settings, http, workers=workers),
        h11_max_incomplete_event_size=MAX_REQUEST_HEADER_BYTES,
        proxy_headers=True,
        forwarded_allow_ips=forwarded_allow_ips,
        timeout_keep_alive=settings.keep_alive_timeout_s,
        timeout_graceful_shutdown=graceful_shutdown_s,
        workers=workers,
        # A worker answers the supervisor's health check only once it has imported the
        # service; on a busy host that takes longer than uvicorn's 5 s, and a worker killed
        # as hung during start-up would be replaced by another that starts just as slowly.
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_S,
    )
    if workers > 1:
        Multiprocess(config, sockets=[config.bind_socket()]).run()
    else:
        uvicorn.Server(config).run()


def _http_protocol(settings: ServiceSettings, http: str, *, workers: int) -> Any:
    if http != "httptools":
        return "h11"
    if workers == 1:
        return limited_protocol(settings)
    return LimitedProtocolFactory(
        max_header_bytes=MAX_REQUEST_HEADER_BYTES,
        max_headers=MAX_REQUEST_HEADERS,
        header_timeout_s=settings.request_header_timeout_s,
    )


def serve_from_command_line(
    factory: str, settings: ServiceSettings, *, default_port: int, default_workers: int = 1
) -> None:
    """``python -m <service>`` with uvicorn's flags that matter here; limits come from settings."""
    parser = argparse.ArgumentParser(description=f"Serve {settings.service_name}.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=default_port)
    parser.add_argument("--loop", choices=["uvloop", "asyncio"], default="uvloop")
    parser.add_argument("--http", choices=["httptools", "h11"], default="httptools")
    parser.add_argument(
        "--timeout-graceful-shutdown",
        type=int,
        default=GRACEFUL_SHUTDOWN_S,
        help="Seconds open requests may take to finish after SIGTERM.",
    )
    parser.add_argument(
        "--forwarded-allow-ips",
        default=None,
        help="Proxies whose X-Forwarded-* headers are trusted (uvicorn's default: 127.0.0.1).",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=default_workers,
        help="Server processes sharing the port (each runs its own copy of the app).",
    )
    arguments = parser.parse_args()
    serve(
        factory,
        settings,
        host=arguments.host,
        port=arguments.port,
        loop=arguments.loop,
        http=arguments.http,
        graceful_shutdown_s=arguments.timeout_graceful_shutdown,
        forwarded_allow_ips=arguments.forwarded_allow_ips,
        workers=arguments.workers,
    )
