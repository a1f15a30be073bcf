"""An httpx transport whose connections go only to addresses that passed the URL policy.

The check happens where the socket is opened, on the addresses then resolved, and the socket is
opened to one of exactly those addresses: a name cannot resolve to a public address for the check
and to a private one for the connection (DNS rebinding). httpcore still sends the URL's host as
``Host`` and as the TLS server name, because it passes the hostname, not our address, to TLS.
"""

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence

import httpcore
import httpx

from core_service.webfetch.addresses import IPAddress, UrlPolicy

__all__ = ["PinnedBackend", "Resolver", "pinned_transport", "resolve_addresses", "system_resolver"]

Resolver = Callable[[str, int], Awaitable[Sequence[str]]]
"""``(host, port) -> addresses``; tests pass their own to map names without a DNS server."""


async def system_resolver(host: str, port: int) -> Sequence[str]:
    """The operating system's resolver (``getaddrinfo``), without blocking the event loop."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


async def resolve_addresses(resolver: Resolver, host: str, port: int) -> list[IPAddress]:
    """The addresses of ``host``: itself when it is an address literal, else the resolver's."""
    literal = _address_literal(host)
    if literal is not None:
        return [literal]
    try:
        found = await resolver(host, port)
    except OSError as exc:
        raise httpcore.ConnectError(f"cannot resolve {host}") from exc
    # A scoped IPv6 address ("fe80::1%eth0") is link-local whatever its scope.
    addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in found]
    if not addresses:
        raise httpcore.ConnectError(f"cannot resolve {host}")
    return addresses


def _address_literal(host: str) -> IPAddress | None:
    """``host`` as an address, also in the legacy IPv4 forms (``2130706433``, ``0x7f.1``) that
    the system resolver would turn into one."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend that checks, then connects to, the resolved addresses."""

    def __init__(self, policy: UrlPolicy, resolver: Resolver) -> None:
        self._policy = policy
        self._resolver = resolver
        self._backend = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's signature)
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Open a connection to a checked address of ``host``, trying each in turn."""
        addresses = await resolve_addresses(self._resolver, host, port)
        self._policy.check_addresses(addresses, port)
        last_error: Exception | None = None
        for address in addresses:
            try:
                return await self._backend.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        assert last_error is not None  # noqa: S101 (addresses is never empty)
        raise last_error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's signature)
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Never: only TCP to checked addresses."""
        raise httpcore.ConnectError("unix sockets are not fetched")

    async def sleep(self, seconds: float) -> None:
        """As the default backend."""
        await self._backend.sleep(seconds)


class _PinnedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, backend: PinnedBackend) -> None:
        super().__init__(trust_env=False)
        # httpx's transport does not take a network backend; the httpcore pool under it does,
        # and the transport only forwards requests to that pool.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(), network_backend=backend
        )


def pinned_transport(
    policy: UrlPolicy, resolver: Resolver = system_resolver
) -> httpx.AsyncBaseTransport:
    """A transport for an ``httpx.AsyncClient`` that only reaches addresses ``policy`` allows."""
    return _PinnedTransport(PinnedBackend(policy, resolver))
