"""SSRF-safe fetching of URLs that users give us (web sources, webhook endpoints).

Public interface: ``SafeFetcher`` (``check_url``, ``fetch``), ``UrlPolicy`` (the address rules),
``FetchLimits``, ``FetchedResponse``, ``UrlNotAllowed`` (422), ``FetchFailed`` (with a reason),
``Resolver`` and ``fetcher_from_settings``.
"""

from core_service.config import Settings
from core_service.webfetch.addresses import UrlPolicy, parse_networks
from core_service.webfetch.client import FetchedResponse, FetchLimits, SafeFetcher
from core_service.webfetch.exceptions import FetchFailed, UrlNotAllowed
from core_service.webfetch.transport import Resolver, system_resolver

# Redirects followed per fetch (each hop's address is checked again); browsers allow about 20,
# real sites need one or two.
MAX_REDIRECTS = 5

__all__ = [
    "FetchFailed",
    "FetchLimits",
    "FetchedResponse",
    "Resolver",
    "SafeFetcher",
    "UrlNotAllowed",
    "UrlPolicy",
    "fetcher_from_settings",
    "policy_from_settings",
    "system_resolver",
]


def policy_from_settings(settings: Settings) -> UrlPolicy:
    """The address rules of ``CORE_FETCH_ALLOWED_NETWORKS`` and ``CORE_FETCH_ALLOWED_PORTS``."""
    return UrlPolicy(
        allowed_networks=parse_networks(settings.fetch_allowed_networks),
        allowed_ports=frozenset(settings.fetch_allowed_ports),
    )


def fetcher_from_settings(
    settings: Settings, *, resolver: Resolver = system_resolver, max_bytes: int | None = None
) -> SafeFetcher:
    """A ``SafeFetcher`` with the operator's settings (close it when done)."""
    limits = FetchLimits(
        max_bytes=max_bytes or settings.fetch_max_bytes,
        timeout_s=settings.fetch_timeout_s,
        max_redirects=MAX_REDIRECTS,
    )
    return SafeFetcher(
        policy_from_settings(settings),
        user_agent=settings.fetch_user_agent,
        limits=limits,
        resolver=resolver,
    )
