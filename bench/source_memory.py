"""The worker's memory while eight web sources sync at once (issue 23, ingestion).

A loopback website serves ``BENCH_MEMORY_SOURCES`` (8) sites, each an index page linking to
``BENCH_MEMORY_PAGES`` (8) pages of ``BENCH_MEMORY_PAGE_MB`` (4.5) MB: near the largest page a
fetch takes (``CORE_FETCH_MAX_BYTES``, 5 MiB), mostly markup around a short article, so the
fetching, link parsing and extraction see big pages while the embedding stays small. Every
source is a crawl added at once; the worker runs its default concurrency (8 jobs). The resident
memory of the worker and its children (the extraction processes: the container's limit counts
them too) is sampled every 20 ms until every page's document is indexed. The figure to hold it
against is the worker container's limit in deploy/ (768 MiB).
"""

import asyncio
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import asyncpg
import httpx
import psutil

from bench.harness import embedded_database, print_table, write_result
from bench.paced_ingestion import create_bot
from bench.platform import running_platform
from testsupport.website import Page, Website, website

SOURCES = int(os.environ.get("BENCH_MEMORY_SOURCES", "8"))
PAGES = int(os.environ.get("BENCH_MEMORY_PAGES", "8"))
PAGE_BYTES = int(float(os.environ.get("BENCH_MEMORY_PAGE_MB", "4.5")) * 1_048_576)
PAGES_PER_JOB = os.environ.get("BENCH_MEMORY_PAGES_PER_JOB", "8")  # CORE_SOURCES_PAGES_PER_JOB
LIMIT_MIB = 768
_MIB = 1_048_576


def _big_page(site: int, page: int) -> Page:
    article = f"Site {site}, page {page}: " + "the quick brown fox jumps over the dog. " * 12
    padding = "var filler = 'x';\n" * (PAGE_BYTES // 18)
    body = (
        f"<html><head><title>s{site} p{page}</title><script>{padding}</script></head><body>"
        f"<main><article><h1>Page {page}</h1><p>{article}</p></article></main></body></html>"
    )
    return Page(body=body.encode())


def _publish(site: Website) -> list[str]:
    """The sites' pages; the index URL of each site."""
    roots = []
    for s in range(SOURCES):
        links = "".join(f'<a href="/s{s}/p{p}.html">page {p}</a>' for p in range(PAGES))
        index = f"<html><body><main><h1>Site {s}</h1>{links}</main></body></html>"
        site.pages[f"/s{s}/"] = Page(body=index.encode())
        for p in range(PAGES):
            site.pages[f"/s{s}/p{p}.html"] = _big_page(s, p)
        roots.append(site.url(f"/s{s}/"))
    return roots


def _rss(pid: int) -> int:
    """Resident bytes of a process and its live children."""
    root = psutil.Process(pid)
    total = root.memory_info().rss
    for child in root.children(recursive=True):
        with suppress(psutil.NoSuchProcess):
            total += child.memory_info().rss
    return total


@contextmanager
def _sampling(pid: int) -> Iterator[list[int]]:
    """Samples of the process tree's resident bytes every 20 ms while the block runs."""
    samples: list[int] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            with suppress(psutil.NoSuchProcess):
                samples.append(_rss(pid))
            time.sleep(0.02)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield samples
    finally:
        stop.set()
        thread.join()


async def _progress(dsn: str) -> tuple[int, int, int]:
    """Sources finished, page documents ready, page documents failed."""
    connection = await asyncpg.connect(dsn)
    try:
        finished = await connection.fetchval(
            "SELECT count(*) FROM sources WHERE status IN ('ready', 'error')"
        )
        rows = await connection.fetch(
            "SELECT status::text, count(*) FROM documents WHERE source_id IS NOT NULL "
            "GROUP BY status"
        )
    finally:
        await connection.close()
    states = {row[0]: row[1] for row in rows}
    return finished, states.get("ready", 0), states.get("error", 0)


def _wait_until_synced(dsn: str, *, timeout_s: float) -> float:
    started = time.perf_counter()
    pages = SOURCES * (PAGES + 1)
    while time.perf_counter() - started < timeout_s:
        finished, ready, failed = asyncio.run(_progress(dsn))
        if failed:
            raise RuntimeError(f"{failed} page documents failed to index")
        if finished == SOURCES and ready >= pages:
            return time.perf_counter() - started
        time.sleep(0.2)
    raise TimeoutError(f"{SOURCES} sources and {pages} pages not done in {timeout_s:.0f} s")


def _add_sources(core_url: str, headers: dict[str, str], roots: list[str]) -> None:
    bot_id = create_bot(core_url, headers, "sources")
    with httpx.Client(base_url=core_url, headers=headers, timeout=30) as client:
        for root in roots:
            body = {"kind": "crawl", "url": root, "max_pages": PAGES + 1, "max_depth": 1}
            answer = client.post(f"/api/v1/bots/{bot_id}/sources", json=body)
            if answer.status_code != 202:
                raise RuntimeError(f"adding a source answered {answer.status_code}: {answer.text}")


def main() -> None:
    """Sync every source at once; print and record the worker's memory."""
    env = {
        "CORE_FETCH_ALLOWED_NETWORKS": "127.0.0.0/8",
        "CORE_SOURCES_PAGES_PER_JOB": PAGES_PER_JOB,
    }
    with (
        website() as site,
        embedded_database("bench_core", "bench_agent") as database,
        running_platform(database, extra_env=env) as platform,
    ):
        roots = _publish(site)
        pid = platform.worker.pid
        idle = _rss(pid)
        with _sampling(pid) as samples:
            _add_sources(platform.core.url, platform.user_headers, roots)
            seconds = _wait_until_synced(database.url_for("bench_core"), timeout_s=900)
    peak = max(samples)
    rows = [
        ["worker + children idle (MiB)", round(idle / _MIB, 1)],
        ["peak while syncing (MiB)", round(peak / _MIB, 1)],
        ["container limit (MiB)", LIMIT_MIB],
        ["seconds to every page ready", round(seconds, 1)],
    ]
    print_table(
        f"{SOURCES} web sources at once, {PAGES} pages of {PAGE_BYTES / _MIB:.1f} MiB each, "
        f"{PAGES_PER_JOB} pages per job",
        ["measure", "value"],
        rows,
    )
    within = peak / _MIB < LIMIT_MIB
    print(f"peak within the worker's {LIMIT_MIB} MiB limit: {'yes' if within else 'NO'}")
    write_result(
        "source_memory",
        {
            "sources": SOURCES,
            "pages": PAGES,
            "pages_per_job": int(PAGES_PER_JOB),
            "page_bytes": PAGE_BYTES,
            "idle_mib": round(idle / _MIB, 1),
            "peak_mib": round(peak / _MIB, 1),
            "seconds": round(seconds, 1),
            "within_limit": within,
        },
    )


if __name__ == "__main__":
    main()
