"""An app started in-process and an HTTP client on it, written once for every test suite.

In-process clients suit tests of the app's own logic; what a client sees after the response
(commits, background work, streaming buffers) is tested over a real socket instead
(``testsupport.service_process``).
"""

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import httpx
from starlette.applications import Starlette

__all__ = ["started_client"]

_DEFAULT_CLIENT = ("127.0.0.1", 123)  # httpx.ASGITransport's own default peer


@asynccontextmanager
async def started_client(
    app: Starlette,
    *,
    base_url: str = "http://app.test",
    headers: dict[str, str] | None = None,
    client_address: tuple[str, int] = _DEFAULT_CLIENT,
    raise_app_exceptions: bool = True,
    lifespan: bool = True,
) -> AsyncIterator[httpx.AsyncClient]:
    """A client on ``app``, with the app's lifespan entered first unless it already runs."""
    async with AsyncExitStack() as stack:
        if lifespan:
            await stack.enter_async_context(app.router.lifespan_context(app))
        transport = httpx.ASGITransport(
            app=app, client=client_address, raise_app_exceptions=raise_app_exceptions
        )
        client = httpx.AsyncClient(transport=transport, base_url=base_url, headers=headers)
        yield await stack.enter_async_context(client)
