"""Fetch a URL safely: policy-checked addresses, redirects followed and checked one by one,
bounded bytes and time."""

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Self

import httpcore
import httpx

from core_service.webfetch.addresses import UrlPolicy
from core_service.webfetch.exceptions import FetchFailed
from core_service.webfetch.transport import (
    Resolver,
    pinned_transport,
    resolve_addresses,
    system_resolver,
)

__all__ = ["FetchLimits", "FetchedResponse", "SafeFetcher"]

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_FOLLOWED_METHODS = frozenset({"GET", "HEAD"})


@dataclass(frozen=True)
class FetchLimits:
    """Bounds of one fetch, redirects included."""

    max_bytes: int = 5 * 1_048_576
    timeout_s: float = 20.0
    max_redirects: int = 5


@dataclass(frozen=True)
class FetchedResponse:
    """The final answer: its URL after redirects, status, headers and (bounded) body."""

    url: str
    status_code: int
    headers: httpx.Headers
    content: bytes


class SafeFetcher:
    """An HTTP client that never reaches an address ``policy`` refuses.

    Use as ``async with SafeFetcher(policy, user_agent=...) as fetcher``; one per process or
    task, like any ``httpx.AsyncClient``.
    """

    def __init__(
        self,
        policy: UrlPolicy,
        *,
        user_agent: str,
        limits: FetchLimits | None = None,
        resolver: Resolver = system_resolver,
    ) -> None:
        self.policy = policy
        self.limits = limits or FetchLimits()
        self._resolver = resolver
        self._client = httpx.AsyncClient(
            transport=pinned_transport(policy, resolver),
            follow_redirects=False,
            trust_env=False,
            timeout=httpx.Timeout(self.limits.timeout_s),
            headers={"User-Agent": user_agent},
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the pooled connections."""
        await self._client.aclose()

    async def check_url(self, url: str) -> httpx.URL:
        """``UrlNotAllowed`` for a URL whose scheme, port or resolved addresses are refused.

        A name that does not resolve passes: fetching it fails later with a reason. The same
        check runs again when connecting, so this one is for answering early, not for safety.
        """
        parsed = self.policy.check_syntax(url)
        port = _port_of(parsed)
        try:
            async with asyncio.timeout(self.limits.timeout_s):
                addresses = await resolve_addresses(self._resolver, parsed.host, port)
        except (httpcore.ConnectError, TimeoutError):
            return parsed
        self.policy.check_addresses(addresses, port)
        return parsed

    async def fetch(
        self,
        url: str,
        *,
        method: str = "GET",
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
    ) -> FetchedResponse:
        """One request, following GET/HEAD redirects (each checked), within the limits.

        ``UrlNotAllowed`` for a refused URL at any hop, ``FetchFailed`` with a reason for a
        site that does not answer usably; any HTTP status is an answer (the caller judges it).
        """
        try:
            async with asyncio.timeout(self.limits.timeout_s):
                return await self._follow(url, method, headers or {}, content)
        except TimeoutError as exc:
            raise FetchFailed(f"no complete answer within {self.limits.timeout_s:g} s") from exc

    async def _follow(
        self, url: str, method: str, headers: Mapping[str, str], content: bytes | None
    ) -> FetchedResponse:
        seen: set[str] = set()
        target = self.policy.check_syntax(url)
        while True:
            seen.add(str(target))
            request = self._client.build_request(method, target, headers=headers, content=content)
            response = await self._send(request)
            try:
                location = _redirect_target(response, method)
                if location is None:
                    return await self._read(response)
            finally:
                await response.aclose()
            target = self.policy.check_syntax(str(location))
            _refuse_endless(str(target), seen, self.limits.max_redirects)

    async def _send(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self._client.send(request, stream=True)
        except httpx.TimeoutException as exc:
            raise FetchFailed("the site did not answer in time") from exc
        except httpx.HTTPError as exc:
            raise FetchFailed(f"the site could not be reached ({type(exc).__name__})") from exc

    async def _read(self, response: httpx.Response) -> FetchedResponse:
        limit = self.limits.max_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise FetchFailed(f"the answer is larger than {limit} bytes")
        body = bytearray()
        try:
            async for piece in response.aiter_bytes():
                body += piece
                if len(body) > limit:
                    raise FetchFailed(f"the answer is larger than {limit} bytes")
        except httpx.HTTPError as exc:
            raise FetchFailed(f"the answer broke off ({type(exc).__name__})") from exc
        return FetchedResponse(
            str(response.url), response.status_code, response.headers, bytes(body)
        )


def _port_of(url: httpx.URL) -> int:
    return url.port or (443 if url.scheme == "https" else 80)


def _redirect_target(response: httpx.Response, method: str) -> httpx.URL | None:
    """Where a redirect of a GET/HEAD points; other methods get the 3xx as their answer."""
    location = response.headers.get("location")
    if response.status_code not in _REDIRECTS or method not in _FOLLOWED_METHODS or not location:
        return None
    try:
        return response.url.join(location)
    except httpx.InvalidURL as exc:
        raise FetchFailed("the site redirected to an invalid URL") from exc


def _refuse_endless(target: str, seen: set[str], max_redirects: int) -> None:
    if target in seen:
        raise FetchFailed("the site redirects in a loop")
    if len(seen) > max_redirects:
        raise FetchFailed(f"more than {max_redirects} redirects")
