"""A small loopback website for fetching and crawling tests, and a listener that records
connections (to prove that a refused URL was never connected to)."""

import hashlib
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["ConnectionRecorder", "Page", "Website", "html_page", "recording_listener", "website"]


@dataclass
class Page:
    """What the site answers for one path."""

    body: bytes = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    with_etag: bool = True
    # Bytes streamed without a Content-Length (a page that never says how big it is).
    stream_bytes: int = 0

    @property
    def etag(self) -> str:
        """A strong validator derived from the body."""
        return '"' + hashlib.sha256(self.body).hexdigest()[:16] + '"'


def html_page(title: str, text: str, links: tuple[str, ...] = ()) -> Page:
    """An HTML page with navigation around its main content, like most real pages."""
    anchors = "".join(f'<li><a href="{href}">{href}</a></li>' for href in links)
    body = (
        f"<html><head><title>{title}</title></head><body>"
        f"<nav><ul>{anchors}</ul></nav>"
        f"<main><article><h1>{title}</h1><p>{text}</p></article></main>"
        "<footer>Copyright footer</footer></body></html>"
    )
    return Page(body=body.encode())


class Website:
    """Pages by path, and every request it got as ``(method, path, headers)``."""

    def __init__(self) -> None:
        self.pages: dict[str, Page] = {}
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.port = 0
        self.host = "127.0.0.1"

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        """The absolute URL of ``path``."""
        return self.base_url + path

    def paths_requested(self) -> list[str]:
        """Paths of the GET requests so far, in order."""
        return [path for method, path, _ in self.requests if method == "GET"]


def _handler_for(site: Website) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.do_GET_as("GET")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            self.do_GET_as("POST")

        def do_GET_as(self, method: str) -> None:
            try:
                self._serve(method)
            except OSError:
                pass  # the client went away (a timeout or a size limit on its side)

        def _serve(self, method: str) -> None:
            site.requests.append((method, self.path, dict(self.headers.items())))
            page = site.pages.get(self.path.split("#", 1)[0])
            if page is None:
                self._answer(Page(body=b"not found", status=404, content_type="text/plain"))
                return
            time.sleep(page.delay_s)
            if page.with_etag and self.headers.get("If-None-Match") == page.etag:
                self.send_response(304)
                self.end_headers()
                return
            self._answer(page)

        def _answer(self, page: Page) -> None:
            self.send_response(page.status)
            self.send_header("Content-Type", page.content_type)
            for name, value in page.headers.items():
                self.send_header(name, value)
            if page.with_etag:
                self.send_header("ETag", page.etag)
            if page.stream_bytes:
                self.end_headers()
                self._stream(page.stream_bytes)
                return
            self.send_header("Content-Length", str(len(page.body)))
            self.end_headers()
            self.wfile.write(page.body)

        def _stream(self, total: int) -> None:
            chunk = b"x" * 65_536
            for _ in range(0, total, len(chunk)):
                self.wfile.write(chunk)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    return Handler


@contextmanager
def website() -> Iterator[Website]:
    """A started ``Website`` on a free loopback port (HTTP/1.0: one request per connection)."""
    site = Website()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(site))
    server.daemon_threads = True
    site.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class ConnectionRecorder:
    """A listener that accepts and counts connections, answering nothing useful."""

    host: str
    port: int
    connections: int = 0


@contextmanager
def recording_listener(host: str = "127.0.0.1") -> Iterator[ConnectionRecorder]:
    """A ``ConnectionRecorder`` listening on a free port of ``host``."""
    listener = socket.create_server((host, 0))
    listener.settimeout(0.1)
    recorder = ConnectionRecorder(host=host, port=listener.getsockname()[1])
    stop = threading.Event()

    def accept_loop() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            recorder.connections += 1
            connection.close()

    thread = threading.Thread(target=accept_loop, daemon=True)
    thread.start()
    try:
        yield recorder
    finally:
        stop.set()
        thread.join()
        listener.close()
