"""The HTTP transport of every Gemini client: httpx's own, chosen explicitly.

google-genai sends its async calls over aiohttp whenever aiohttp is importable, unless the client
arguments name an httpx transport. Whether aiohttp is importable depends on what else shares the
environment (core's agent client runs over aiohttp), so the agent names the transport itself and
its Gemini calls take the same path wherever it is installed. langchain-google-genai hands one
``client_args`` dict to the SDK's sync and async clients alike, hence one object serving both.
"""

from typing import Any

import httpx

__all__ = ["HttpxTransport", "gemini_client_args"]


class HttpxTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """httpx's default sync and async transports behind one object."""

    def __init__(self) -> None:
        self._sync = httpx.HTTPTransport()
        self._async = httpx.AsyncHTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send over the sync connection pool."""
        return self._sync.handle_request(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send over the async connection pool."""
        return await self._async.handle_async_request(request)

    def close(self) -> None:
        """Close the sync pool."""
        self._sync.close()

    async def aclose(self) -> None:
        """Close the async pool."""
        await self._async.aclose()


def gemini_client_args() -> dict[str, Any]:
    """``client_args`` for langchain-google-genai's chat and embedding models."""
    return {"transport": HttpxTransport()}
