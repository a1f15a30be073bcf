"""SSRF-safe fetching: refused URLs are never connected to; redirects and names are checked
at every hop; bytes, time and redirects are bounded."""

import asyncio
import ipaddress
import time
from collections.abc import Mapping, Sequence

import pytest

from core_service.webfetch import (
    FetchFailed,
    FetchLimits,
    Resolver,
    SafeFetcher,
    UrlNotAllowed,
    UrlPolicy,
    system_resolver,
)
from testsupport.website import Page, html_page, recording_listener, website

LOOPBACK_ONLY_1 = UrlPolicy(allowed_networks=(ipaddress.ip_network("127.0.0.1/32"),))
UA = "ChatSphereBot/test"


def resolver_of(table: Mapping[str, Sequence[str]]) -> Resolver:
    """A resolver answering from ``table``, as DNS would; unknown names do not resolve, and
    ``localhost`` is the system's."""

    async def resolve(host: str, port: int) -> Sequence[str]:
        if host == "localhost":
            return await system_resolver(host, port)
        if host not in table:
            raise OSError(f"unknown host {host}")
        return table[host]

    return resolve


NAMES = {
    "private.test": ["10.1.2.3"],
    "loopback.test": ["127.0.0.2"],
    "mixed.test": ["93.184.216.34", "127.0.0.2"],
    "metadata.test": ["169.254.169.254"],
    "mapped.test": ["::ffff:127.0.0.2"],
    "public.test": ["93.184.216.34"],
}


def refused_urls(port: int) -> list[str]:
    """URLs that must be refused; every loopback one points at the recording listener."""
    return [
        f"http://127.0.0.2:{port}/",
        f"http://loopback.test:{port}/",
        f"http://mixed.test:{port}/",
        f"http://mapped.test:{port}/",
        f"http://[::ffff:127.0.0.2]:{port}/",
        f"http://[::ffff:7f00:2]:{port}/",
        f"http://2130706434:{port}/",  # 127.0.0.2 as one number
        f"http://0x7f000002:{port}/",
        f"http://localhost:{port}/",
        f"http://[::1]:{port}/",
        f"http://0.0.0.0:{port}/",
        "http://private.test/",
        "http://10.0.0.1/",
        "http://172.16.0.1/",
        "http://192.168.1.1/",
        "http://100.64.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://metadata.test/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://[fe80::1]/",
        "http://[fc00::1]/",
        "http://224.0.0.1/",
        "http://240.0.0.1/",
        "http://255.255.255.255/",
        "http://[64:ff9b::a00:1]/",
        "http://[2002:7f00:2::]/",
        "http://public.test:8080/",
        "http://public.test:22/",
        "ftp://public.test/",
        "file:///etc/passwd",
        "gopher://public.test/",
        "http://user:pw@public.test/",
        "http:///nohost",
        "not a url",
    ]


async def test_refused_urls_are_never_connected_to() -> None:
    with recording_listener("127.0.0.2") as recorder:
        async with SafeFetcher(UrlPolicy(), user_agent=UA, resolver=resolver_of(NAMES)) as f:
            for url in refused_urls(recorder.port):
                with pytest.raises(UrlNotAllowed):
                    await f.check_url(url)
                with pytest.raises(UrlNotAllowed):
                    await f.fetch(url)
    assert recorder.connections == 0


async def test_a_public_name_on_an_allowed_port_passes_the_check() -> None:
    async with SafeFetcher(UrlPolicy(), user_agent=UA, resolver=resolver_of(NAMES)) as fetcher:
        await fetcher.check_url("https://public.test/page")
        await fetcher.check_url("http://unresolvable.test/")  # fails later, with a reason


async def test_an_allowed_network_is_fetched_with_the_names_host_header() -> None:
    with website() as site:
        site.pages["/"] = html_page("Home", "hello")
        names = resolver_of({"site.test": ["127.0.0.1"]})
        async with SafeFetcher(LOOPBACK_ONLY_1, user_agent=UA, resolver=names) as fetcher:
            page = await fetcher.fetch(f"http://site.test:{site.port}/")
    assert page.status_code == 200
    assert b"hello" in page.content
    _, _, headers = site.requests[0]
    assert headers["Host"] == f"site.test:{site.port}"
    assert headers["User-Agent"] == UA


async def test_a_redirect_to_a_refused_address_is_not_followed() -> None:
    with website() as site, recording_listener("127.0.0.2") as recorder:
        target = f"http://127.0.0.2:{recorder.port}/secret"
        site.pages["/go"] = Page(status=302, headers={"Location": target})
        site.pages["/meta"] = Page(
            status=301, headers={"Location": "http://169.254.169.254/latest/meta-data/"}
        )
        async with SafeFetcher(LOOPBACK_ONLY_1, user_agent=UA) as fetcher:
            for path in ("/go", "/meta"):
                with pytest.raises(UrlNotAllowed):
                    await fetcher.fetch(site.url(path))
    assert recorder.connections == 0


async def test_a_name_that_changes_its_address_after_the_check_is_not_connected_to() -> None:
    answers = iter([["93.184.216.34"], ["127.0.0.2"]])

    async def rebinding(host: str, port: int) -> Sequence[str]:
        return next(answers)

    with recording_listener("127.0.0.2") as recorder:
        url = f"http://rebind.test:{recorder.port}/"
        async with SafeFetcher(
            UrlPolicy(allowed_ports=frozenset({recorder.port})), user_agent=UA, resolver=rebinding
        ) as fetcher:
            await fetcher.check_url(url)
            with pytest.raises(UrlNotAllowed):
                await fetcher.fetch(url)
    assert recorder.connections == 0


async def test_redirects_are_followed_within_bounds() -> None:
    with website() as site:
        site.pages["/a"] = Page(status=301, headers={"Location": "/b"})
        site.pages["/b"] = Page(status=302, headers={"Location": site.url("/c")})
        site.pages["/c"] = html_page("C", "arrived")
        site.pages["/loop1"] = Page(status=302, headers={"Location": "/loop2"})
        site.pages["/loop2"] = Page(status=302, headers={"Location": "/loop1"})
        for n in range(10):
            site.pages[f"/chain{n}"] = Page(status=302, headers={"Location": f"/chain{n + 1}"})
        limits = FetchLimits(max_redirects=3)
        async with SafeFetcher(LOOPBACK_ONLY_1, user_agent=UA, limits=limits) as fetcher:
            page = await fetcher.fetch(site.url("/a"))
            assert page.url == site.url("/c")
            assert b"arrived" in page.content
            with pytest.raises(FetchFailed, match="loop"):
                await fetcher.fetch(site.url("/loop1"))
            with pytest.raises(FetchFailed, match="more than 3 redirects"):
                await fetcher.fetch(site.url("/chain0"))


async def test_a_post_is_answered_with_its_redirect_not_sent_on() -> None:
    with website() as site:
        site.pages["/hook"] = Page(status=302, headers={"Location": "/elsewhere"})
        async with SafeFetcher(LOOPBACK_ONLY_1, user_agent=UA) as fetcher:
            answer = await fetcher.fetch(site.url("/hook"), method="POST", content=b"{}")
    assert answer.status_code == 302
    assert [(m, p) for m, p, _ in site.requests] == [("POST", "/hook")]


async def test_bytes_and_time_are_bounded() -> None:
    with website() as site:
        site.pages["/big"] = Page(body=b"x" * 20_000)
        site.pages["/endless"] = Page(stream_bytes=50 * 1_048_576, with_etag=False)
        site.pages["/slow"] = Page(body=b"late", delay_s=3)
        limits = FetchLimits(max_bytes=10_000, timeout_s=1)
        async with SafeFetcher(LOOPBACK_ONLY_1, user_agent=UA, limits=limits) as fetcher:
            with pytest.raises(FetchFailed, match="larger than 10000 bytes"):
                await fetcher.fetch(site.url("/big"))
            with pytest.raises(FetchFailed, match="larger than 10000 bytes"):
                await fetcher.fetch(site.url("/endless"))
            with pytest.raises(FetchFailed, match="in time|within"):
                await fetcher.fetch(site.url("/slow"))


async def test_unreachable_and_unresolvable_hosts_fail_with_a_reason() -> None:
    with recording_listener() as closed:
        port = closed.port
    async with SafeFetcher(LOOPBACK_ONLY_1, user_agent=UA, resolver=resolver_of({})) as fetcher:
        with pytest.raises(FetchFailed, match="could not be reached"):
            await fetcher.fetch(f"http://127.0.0.1:{port}/")
        with pytest.raises(FetchFailed, match="could not be reached"):
            await fetcher.fetch("http://nowhere.test/")


def test_allowed_networks_setting_is_parsed_and_bad_entries_refused() -> None:
    from pydantic import ValidationError

    from core_service.config import Settings
    from core_service.webfetch import policy_from_settings

    settings = Settings(fetch_allowed_networks="127.0.0.0/8, 10.1.0.0/16")
    policy = policy_from_settings(settings)
    assert ipaddress.ip_network("10.1.0.0/16") in policy.allowed_networks
    with pytest.raises(ValidationError):
        Settings(fetch_allowed_networks="10.0.0.0/33")


async def test_a_resolver_that_hangs_does_not_hang_the_check_or_the_fetch() -> None:
    async def hanging(host: str, port: int) -> Sequence[str]:
        await asyncio.sleep(60)
        return ["93.184.216.34"]

    limits = FetchLimits(timeout_s=0.5)
    async with SafeFetcher(UrlPolicy(), user_agent=UA, limits=limits, resolver=hanging) as f:
        started = time.monotonic()
        await f.check_url("https://slow-dns.test/")  # answered later, at fetch time
        with pytest.raises(FetchFailed):
            await f.fetch("https://slow-dns.test/")
    assert time.monotonic() - started < 5
