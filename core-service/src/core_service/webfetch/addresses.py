"""Which URLs and addresses the service may reach: the one definition of the SSRF rules."""

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field

import httpx

from core_service.webfetch.exceptions import UrlNotAllowed

__all__ = ["IPAddress", "IPNetwork", "UrlPolicy", "parse_networks"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Not covered by ``ipaddress``'s flags on every Python: carrier-grade NAT and the AWS IPv6
# metadata endpoint; NAT64 because it embeds an IPv4 address the flags do not look at.
_ALWAYS_REFUSED: tuple[IPNetwork, ...] = (
    ipaddress.ip_network("100.64.0.0/10"),
    ipaddress.ip_network("fd00:ec2::254/128"),
    ipaddress.ip_network("64:ff9b::/96"),
    ipaddress.ip_network("64:ff9b:1::/48"),
)
_SCHEMES = frozenset({"http", "https"})


def parse_networks(text: str) -> tuple[IPNetwork, ...]:
    """``"127.0.0.0/8, 10.1.0.0/16"`` as networks; ``ValueError`` names a bad entry."""
    entries = [entry.strip() for entry in text.split(",") if entry.strip()]
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, NAT64), which is what is reached."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _ALWAYS_REFUSED[2] or address in _ALWAYS_REFUSED[3]:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _is_public(address: IPAddress) -> bool:
    embedded = _embedded_ipv4(address)
    if embedded is not None and not _is_public(embedded):
        return False
    flagged = (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or (isinstance(address, ipaddress.IPv6Address) and address.is_site_local)
    )
    return address.is_global and not flagged and not any(address in n for n in _ALWAYS_REFUSED)


@dataclass(frozen=True)
class UrlPolicy:
    """The networks an operator trusts (any port) and the ports public addresses may use."""

    allowed_networks: tuple[IPNetwork, ...] = ()
    allowed_ports: frozenset[int] = field(default_factory=lambda: frozenset({80, 443}))

    def is_trusted(self, address: IPAddress) -> bool:
        """Inside a network the operator listed (``CORE_FETCH_ALLOWED_NETWORKS``)."""
        candidates = [address, _embedded_ipv4(address)]
        return any(c is not None and c in n for c in candidates for n in self.allowed_networks)

    def check_address(self, address: IPAddress, port: int) -> None:
        """``UrlNotAllowed`` unless the address is trusted, or public on an allowed port."""
        if self.is_trusted(address):
            return
        if not _is_public(address):
            raise UrlNotAllowed("This URL points to a private or reserved address.")
        if port not in self.allowed_ports:
            raise UrlNotAllowed(f"Port {port} is not allowed; use 80 or 443.")

    def check_addresses(self, addresses: Iterable[IPAddress], port: int) -> None:
        """Every address a name resolves to must pass: any one may be the one connected to."""
        for address in addresses:
            self.check_address(address, port)

    def check_syntax(self, url: str) -> httpx.URL:
        """The URL parsed, with an http(s) scheme, a host and no credentials."""
        try:
            parsed = httpx.URL(url)
        except (httpx.InvalidURL, TypeError) as exc:
            raise UrlNotAllowed("This is not a valid URL.") from exc
        if parsed.scheme not in _SCHEMES:
            raise UrlNotAllowed("Only http and https URLs can be fetched.")
        if not parsed.host:
            raise UrlNotAllowed("The URL has no host.")
        if parsed.userinfo:
            raise UrlNotAllowed("URLs with credentials are not fetched.")
        return parsed
