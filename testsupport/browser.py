"""A real browser for the widget tests: Debian's Chromium driven by Playwright, kept offline.

``scripts/ensure_chromium.sh`` (run by ``make test``) installs Chromium where it can; a test
run without it skips with the reason, except under CI, where a missing browser fails.
"""

import os
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright

__all__ = ["CHROMIUM", "chromium_browser", "require_chromium", "serving_page"]

CHROMIUM = Path("/usr/bin/chromium")

# Chromium calls Google services on its own even headless; a dead proxy keeps every such call
# on the machine (loopback addresses are never proxied, so the tests' servers are reached).
_ARGUMENTS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--proxy-server=http://127.0.0.1:9",
]


def require_chromium() -> str:
    """The browser's path; skips the test where it is missing (fails under CI)."""
    if CHROMIUM.exists():
        return str(CHROMIUM)
    reason = (
        f"{CHROMIUM} is missing: run `make test` (scripts/ensure_chromium.sh installs Debian's "
        "chromium as root) or `apt-get install chromium`"
    )
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@asynccontextmanager
async def chromium_browser() -> AsyncIterator[Browser]:
    """A headless Chromium, closed when the block ends."""
    executable = require_chromium()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, args=_ARGUMENTS)
        try:
            yield browser
        finally:
            await browser.close()


@contextmanager
def serving_page(pages: dict[str, str], *, host: str = "127.0.0.2") -> Iterator[str]:
    """Serve ``pages`` (path to HTML, read at each request, so a test may fill it in once it
    knows the origin) on another loopback origin: a site that embeds the widget."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages.get(self.path, "").encode()
            self.send_response(200 if self.path in pages else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            """Quiet: the test output is for the tests."""

    server = ThreadingHTTPServer((host, 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
