"""Benchmark (issue 23, 1): streaming with a realistic model, through core against the model.

A loopback OpenAI-compatible stub streams like a hosted model (first token after 300 ms, then one
every 15 ms, 200 tokens); the agent runs on the ``openai`` provider pointed at it. Ours: core's
``POST /api/v1/conversations/{id}/messages/stream`` (one conversation per stream). Baseline: the
same streamed completion asked of the stub directly. At each concurrency, every stream's time to
first token, to last token and its gaps between tokens are taken at the client; the report gives
the p50/p99 that core adds and the gaps' p50/p99 on both paths.
"""

import asyncio
import json
import os
import statistics
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import httpx

from bench.harness import embedded_database, print_table, write_result
from bench.platform import running_platform, wait_until_documents_ready
from testsupport.stub_openai import running_slow_chat_server

CONCURRENCY = tuple(int(n) for n in os.environ.get("BENCH_STREAMS", "1,100").split(","))
TOKENS = 200
TOKEN_INTERVAL_S = 0.015
FIRST_TOKEN_DELAY_S = 0.3
HANDBOOK = "The office opens at nine. Nightly backups start at 02:00 and copy every volume."
QUESTION = "When do the nightly backups start?"


@dataclass(frozen=True)
class StreamTiming:
    """One stream at the client: seconds to the first and the last token, and the gaps."""

    first_s: float
    last_s: float
    gaps_s: list[float]


async def _timed(
    started: float, lines: AsyncIterator[str], is_token: Callable[[str], bool]
) -> StreamTiming:
    """Token arrival times from ``started`` (taken before the request was sent)."""
    stamps = [time.perf_counter() - started async for line in lines if is_token(line)]
    if not stamps:
        raise RuntimeError("a stream ended without any token")
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


async def _straight_to_model(client: httpx.AsyncClient, base_url: str) -> StreamTiming:
    body = {"model": "stub", "stream": True, "messages": [{"role": "user", "content": QUESTION}]}
    started = time.perf_counter()
    async with client.stream("POST", f"{base_url}/chat/completions", json=body) as response:
        response.raise_for_status()
        return await _timed(started, response.aiter_lines(), _is_content)


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


Results = dict[str, dict[str, dict[str, float]]]


async def _conversation(core: httpx.AsyncClient, bot_id: str) -> str:
    created = await core.post(f"/api/v1/bots/{bot_id}/conversations", json={})
    return str(created.raise_for_status().json()["id"])


async def _measure(core_url: str, headers: dict[str, str], model_url: str) -> Results:
    limits = httpx.Limits(max_connections=2_000, max_keepalive_connections=2_000)
    results: Results = {}
    async with (
        httpx.AsyncClient(timeout=120, limits=limits) as direct,
        httpx.AsyncClient(base_url=core_url, headers=headers, timeout=120, limits=limits) as core,
    ):
        bot = (await core.post("/api/v1/bots", json={"name": "stream"})).raise_for_status().json()
        added = await core.post(
            f"/api/v1/bots/{bot['id']}/documents/text",
            json={"name": "handbook", "content": HANDBOOK},
        )
        if added.status_code != 202:
            raise RuntimeError(f"adding the handbook answered {added.status_code}: {added.text}")
        await asyncio.to_thread(wait_until_documents_ready, core_url, headers, bot["id"], 1)
        # One stream each way first: the first request of a fresh process pays for its start-up.
        await _straight_to_model(direct, model_url)
        await _through_core(core, await _conversation(core, bot["id"]))
        for count in CONCURRENCY:
            conversations = [await _conversation(core, bot["id"]) for _ in range(count)]
            model = await asyncio.gather(
                *(_straight_to_model(direct, model_url) for _ in range(count))
            )
            ours = await asyncio.gather(*(_through_core(core, c) for c in conversations))
            results[str(count)] = {"model": _summary(model), "core": _summary(ours)}
    return results


def main() -> None:
    """Run the platform on the stub model, measure each concurrency, print and record."""
    tokens = [f"w{n} " for n in range(TOKENS)]
    with running_slow_chat_server(
        tokens=tokens, token_interval_s=TOKEN_INTERVAL_S, first_token_delay_s=FIRST_TOKEN_DELAY_S
    ) as model:
        env = {
            "AGENT_CHAT_PROVIDER": "openai",
            "AGENT_OPENAI_BASE_URL": model.base_url,
            "AGENT_OPENAI_CHAT_MODEL": "stub",
        }
        with (
            embedded_database("bench_core", "bench_agent") as database,
            running_platform(database, extra_env=env) as platform,
        ):
            results = asyncio.run(
                _measure(platform.core.url, platform.user_headers, model.base_url)
            )
    _report(results)


def _report(results: Results) -> None:
    rows: list[list[object]] = []
    for count, paths in results.items():
        for path, figures in paths.items():
            rows.append([count, path, *(round(v, 1) for v in figures.values())])
    print_table(
        f"Streaming: {TOKENS} tokens, first after {FIRST_TOKEN_DELAY_S * 1000:.0f} ms, then "
        f"one every {TOKEN_INTERVAL_S * 1000:.0f} ms",
        ["streams", "path", "first p50", "first p99", "last p50", "last p99", "gap p50", "gap p99"],
        rows,
    )
    write_result("streaming", {"tokens": TOKENS, "results": results})


if __name__ == "__main__":
    main()
