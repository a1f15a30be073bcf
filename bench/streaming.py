"""Benchmark (issue 23, 1): streaming with a realistic model, through core against the model.

A loopback OpenAI-compatible stub streams like a hosted model (first token after 300 ms, then one
every 15 ms, 200 tokens) from a process of its own; the agent runs on the ``openai`` provider
pointed at it. Ours: core's ``POST /api/v1/conversations/{id}/messages/stream`` (one conversation
per stream). Baseline: the same streamed completion asked of the stub directly. At each
concurrency, every stream's time to first token, to last token and its gaps between tokens are
taken at the client; the report gives the p50/p99 that core adds and the gaps' p50/p99 on both
paths, and the memory core and the agent hold per open stream (their peak RSS during the round
minus their RSS before the first round, over the number of streams).

The load generator is several processes when a round has more streams than
``BENCH_STREAMS_PER_CLIENT`` (100): one Python process reading 500 streams is itself the
bottleneck. ``BENCH_AGENT_WORKERS`` runs the agent with that many worker processes.
"""

import asyncio
import json
import math
import os
import statistics
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing import get_context
from multiprocessing.managers import SyncManager
from threading import Event, Thread
from typing import Any

import httpx
import psutil

from bench.harness import embedded_database, print_table, write_result
from bench.platform import running_platform, wait_until_documents_ready
from testsupport.stub_openai import running_slow_chat_process

CONCURRENCY = tuple(int(n) for n in os.environ.get("BENCH_STREAMS", "1,100,500").split(","))
STREAMS_PER_CLIENT = int(os.environ.get("BENCH_STREAMS_PER_CLIENT", "100"))
AGENT_WORKERS = int(os.environ.get("BENCH_AGENT_WORKERS", "1"))
TOKENS = 200
TOKEN_INTERVAL_S = 0.015
FIRST_TOKEN_DELAY_S = 0.3
HANDBOOK = "The office opens at nine. Nightly backups start at 02:00 and copy every volume."
QUESTION = "When do the nightly backups start?"
MIB = 1024 * 1024


@dataclass(frozen=True)
class StreamTiming:
    """One stream at the client: seconds to the first and the last token, and the gaps."""

    first_s: float
    last_s: float
    gaps_s: list[float]


@dataclass(frozen=True)
class Share:
    """What one client process asks: ``count`` streams to the model, or one per conversation
    through core."""

    url: str
    headers: dict[str, str]
    conversations: list[str] | None = None
    count: int = 0


async def _timed(
    started: float, lines: AsyncIterator[str], is_token: Callable[[str], bool]
) -> StreamTiming:
    """Token arrival times from ``started`` (taken before the request was sent)."""
    stamps: list[float] = []
    last = ""
    async for line in lines:
        if is_token(line):
            stamps.append(time.perf_counter() - started)
        elif line:
            last = line
    if not stamps:
        # Its last line says why (an error event's data, or the done event).
        raise RuntimeError(f"a stream ended without any token; its last line: {last[:300]}")
    gaps = [later - earlier for earlier, later in zip(stamps, stamps[1:], strict=False)]
    return StreamTiming(first_s=stamps[0], last_s=stamps[-1], gaps_s=gaps)


async def _through_core(client: httpx.AsyncClient, conversation_id: str) -> StreamTiming:
    path = f"/api/v1/conversations/{conversation_id}/messages/stream"
    started = time.perf_counter()
    async with client.stream("POST", path, json={"content": QUESTION}) as response:
        if response.status_code != 200:
            raise RuntimeError(f"core answered {response.status_code}: {await response.aread()!r}")
        return await _timed(started, response.aiter_lines(), lambda line: line == "event: token")


def _is_content(line: str) -> bool:
    if not line.startswith("data: {"):
        return False
    choices = json.loads(line.removeprefix("data: "))["choices"]
    return bool(choices and choices[0]["delta"].get("content"))


async def _straight_to_model(client: httpx.AsyncClient) -> StreamTiming:
    body = {"model": "stub", "stream": True, "messages": [{"role": "user", "content": QUESTION}]}
    started = time.perf_counter()
    async with client.stream("POST", "/chat/completions", json=body) as response:
        response.raise_for_status()
        return await _timed(started, response.aiter_lines(), _is_content)


def _client(share: Share) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=2_000, max_keepalive_connections=2_000)
    return httpx.AsyncClient(base_url=share.url, headers=share.headers, timeout=120, limits=limits)


async def _run_share(share: Share) -> list[StreamTiming | str]:
    async with _client(share) as client:
        if share.conversations is None:
            calls = [_straight_to_model(client) for _ in range(share.count)]
        else:
            calls = [_through_core(client, c) for c in share.conversations]
        outcomes = await asyncio.gather(*calls, return_exceptions=True)
    return [o if isinstance(o, StreamTiming) else f"{type(o).__name__}: {o}" for o in outcomes]


def _client_process(share: Share, start: Any) -> list[StreamTiming | str]:
    """One load-generating process: waits for the others, then runs its streams."""
    start.wait()
    return asyncio.run(_run_share(share))


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _summary(timings: list[StreamTiming]) -> dict[str, float]:
    firsts = [t.first_s * 1000 for t in timings]
    lasts = [t.last_s * 1000 for t in timings]
    gaps = [g * 1000 for t in timings for g in t.gaps_s]
    return {
        "first_p50_ms": statistics.median(firsts),
        "first_p99_ms": _percentile(firsts, 0.99),
        "last_p50_ms": statistics.median(lasts),
        "last_p99_ms": _percentile(lasts, 0.99),
        "gap_p50_ms": statistics.median(gaps),
        "gap_p99_ms": _percentile(gaps, 0.99),
    }


Results = dict[str, dict[str, Any]]


class LoadClients:
    """Processes that open a round's streams together (``STREAMS_PER_CLIENT`` each)."""

    def __init__(self, pool: ProcessPoolExecutor, manager: SyncManager) -> None:
        self._pool = pool
        self._manager = manager

    def run(self, shares: list[Share]) -> tuple[list[StreamTiming], list[str]]:
        """Every share's streams, started at once; the timings and the errors."""
        start = self._manager.Barrier(len(shares))
        futures = [self._pool.submit(_client_process, share, start) for share in shares]
        outcomes = [outcome for future in futures for outcome in future.result()]
        timings = [o for o in outcomes if isinstance(o, StreamTiming)]
        return timings, [o for o in outcomes if isinstance(o, str)]


def _split(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


@contextmanager
def _load_clients() -> Iterator[LoadClients]:
    processes = max(math.ceil(count / STREAMS_PER_CLIENT) for count in CONCURRENCY)
    context = get_context("spawn")
    with (
        SyncManager(ctx=context) as manager,
        ProcessPoolExecutor(max_workers=processes, mp_context=context) as pool,
    ):
        yield LoadClients(pool, manager)


def _cpu_s(process: psutil.Process) -> float:
    """CPU seconds (user and system) a service has used: the process and its workers."""
    total = 0.0
    for member in [process, *process.children(recursive=True)]:
        try:
            times = member.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def _rss_mib(process: psutil.Process) -> float:
    """A service's resident memory: the process and its worker processes, if any."""
    total = 0
    for member in [process, *process.children(recursive=True)]:
        try:
            total += member.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total / MIB


class PeakMemory:
    """The highest RSS of each service while a round runs, sampled every 100 ms."""

    def __init__(self, services: dict[str, psutil.Process]) -> None:
        self._services = services
        self.peaks = {name: _rss_mib(p) for name, p in services.items()}
        self._stop = Event()
        self._thread = Thread(target=self._sample, daemon=True)

    def __enter__(self) -> "PeakMemory":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(0.1):
            for name, process in self._services.items():
                self.peaks[name] = max(self.peaks[name], _rss_mib(process))


def _model_shares(model_url: str, count: int) -> list[Share]:
    sizes = [len(part) for part in _split(["x"] * count, STREAMS_PER_CLIENT)]
    return [Share(url=model_url, headers={}, count=size) for size in sizes]


def _core_shares(core_url: str, headers: dict[str, str], conversations: list[str]) -> list[Share]:
    parts = _split(conversations, STREAMS_PER_CLIENT)
    return [Share(url=core_url, headers=headers, conversations=part) for part in parts]


def _round(
    clients: LoadClients,
    services: dict[str, psutil.Process],
    idle: dict[str, float],
    shares: tuple[list[Share], list[Share]],
) -> dict[str, Any]:
    count = sum(len(s.conversations or []) for s in shares[1])
    model, model_errors = clients.run(shares[0])
    load = os.getloadavg()[0]
    cpu_before = {name: _cpu_s(process) for name, process in services.items()}
    with PeakMemory(services) as memory:
        ours, core_errors = clients.run(shares[1])
    per_stream = {
        f"{name}_kib_per_stream": (memory.peaks[name] - idle[name]) * 1024 / count
        for name in services
    }
    # CPU time per stream does not depend on how much of the machine others take.
    per_stream |= {
        f"{name}_cpu_ms_per_stream": (_cpu_s(process) - cpu_before[name]) * 1000 / count
        for name, process in services.items()
    }
    return {
        "model": _summary(model) if model else {},
        "core": _summary(ours) if ours else {},
        "errors": {"model": model_errors[:5], "core": core_errors[:5]},
        "error_counts": {"model": len(model_errors), "core": len(core_errors)},
        "memory": {"idle_mib": idle, "peak_mib": memory.peaks, **per_stream},
        "load_average_1m": load,
    }


async def _set_up(core_url: str, headers: dict[str, str]) -> str:
    """A bot with the handbook, ready to answer; its id."""
    async with httpx.AsyncClient(base_url=core_url, headers=headers, timeout=120) as core:
        bot = (await core.post("/api/v1/bots", json={"name": "stream"})).raise_for_status().json()
        added = await core.post(
            f"/api/v1/bots/{bot['id']}/documents/text",
            json={"name": "handbook", "content": HANDBOOK},
        )
        if added.status_code != 202:
            raise RuntimeError(f"adding the handbook answered {added.status_code}: {added.text}")
    await asyncio.to_thread(wait_until_documents_ready, core_url, headers, bot["id"], 1)
    return str(bot["id"])


async def _conversations(core_url: str, headers: dict[str, str], bot_id: str, n: int) -> list[str]:
    async with httpx.AsyncClient(base_url=core_url, headers=headers, timeout=120) as core:
        ids = []
        for _ in range(n):
            created = await core.post(f"/api/v1/bots/{bot_id}/conversations", json={})
            ids.append(str(created.raise_for_status().json()["id"]))
        return ids


def _measure(core_url: str, headers: dict[str, str], model_url: str, services: Any) -> Results:
    bot_id = asyncio.run(_set_up(core_url, headers))
    results: Results = {}
    with _load_clients() as clients:
        # One stream each way first: the first request of a fresh process pays for its start-up.
        warm_up = asyncio.run(_conversations(core_url, headers, bot_id, 1))
        clients.run(_model_shares(model_url, 1))
        clients.run(_core_shares(core_url, headers, warm_up))
        idle = {name: _rss_mib(process) for name, process in services.items()}
        for count in CONCURRENCY:
            conversations = asyncio.run(_conversations(core_url, headers, bot_id, count))
            shares = (
                _model_shares(model_url, count),
                _core_shares(core_url, headers, conversations),
            )
            results[str(count)] = _round(clients, services, idle, shares)
    return results


def main() -> None:
    """Run the platform on the stub model, measure each concurrency, print and record."""
    tokens = [f"w{n} " for n in range(TOKENS)]
    with running_slow_chat_process(
        tokens=tokens, token_interval_s=TOKEN_INTERVAL_S, first_token_delay_s=FIRST_TOKEN_DELAY_S
    ) as model_url:
        env = {
            "AGENT_CHAT_PROVIDER": "openai",
            "AGENT_OPENAI_BASE_URL": model_url,
            "AGENT_OPENAI_CHAT_MODEL": "stub",
        }
        with (
            embedded_database("bench_core", "bench_agent") as database,
            running_platform(database, extra_env=env, agent_env=_agent_workers()) as platform,
        ):
            services = {
                "core": psutil.Process(platform.core.process.pid),
                "agent": psutil.Process(platform.agent.process.pid),
            }
            results = _measure(platform.core.url, platform.user_headers, model_url, services)
    _report(results)


def _agent_workers() -> dict[str, str]:
    """uvicorn's own settings for the agent's worker processes (the benchmark starts the
    services with uvicorn's command; ``AGENT_WORKERS`` is the setting of the service's own)."""
    if AGENT_WORKERS == 1:
        return {}
    return {"UVICORN_WORKERS": str(AGENT_WORKERS), "UVICORN_TIMEOUT_WORKER_HEALTHCHECK": "60"}


def _report(results: Results) -> None:
    rows: list[list[object]] = []
    for count, paths in results.items():
        for path in ("model", "core"):
            figures = paths[path]
            errors = paths["error_counts"][path]
            rows.append([count, path, errors, *(round(v, 1) for v in figures.values())])
    print_table(
        f"Streaming: {TOKENS} tokens, first after {FIRST_TOKEN_DELAY_S * 1000:.0f} ms, then "
        f"one every {TOKEN_INTERVAL_S * 1000:.0f} ms; agent workers: {AGENT_WORKERS}",
        ["streams", "path", "errors", "first p50", "first p99", "last p50", "last p99"]
        + ["gap p50", "gap p99"],
        rows,
    )
    for count, paths in results.items():
        memory = paths["memory"]
        print(
            f"{count} streams: core {memory['core_kib_per_stream']:.0f} KiB/stream, agent "
            f"{memory['agent_kib_per_stream']:.0f} KiB/stream; CPU per stream: core "
            f"{memory['core_cpu_ms_per_stream']:.0f} ms, agent "
            f"{memory['agent_cpu_ms_per_stream']:.0f} ms (peak {memory['peak_mib']}, idle "
            f"{memory['idle_mib']}), load {paths['load_average_1m']:.1f}; errors "
            f"{paths['errors']}"
        )
    write_result(
        "streaming", {"tokens": TOKENS, "agent_workers": AGENT_WORKERS, "results": results}
    )


if __name__ == "__main__":
    main()
