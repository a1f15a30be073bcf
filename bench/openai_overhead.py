"""Benchmark: the OpenAI-compatible chat path against the native chat path, in the same run.

Ours: ``POST /api/v1/openai/chat/completions`` with a secret bot key (the key's check, the
request stored as a new conversation, the same chat turn, the answer in OpenAI's shape).
Baseline: the owner's ``POST /api/v1/conversations/{id}/messages`` on the same bot, same question.
Both at 1 client (sequential, timed to the microsecond) and 32 (locust), taking turns round after
round as in ``chat_overhead``. The figure is the ratio of the p50s: what the door costs.
``BENCH_ONLY=openai_overhead make bench`` runs it alone.
"""

from typing import Any

import httpx

from bench.chat_overhead import CONCURRENCY, QUESTION, ROUNDS, SECONDS, _measure, _prepare
from bench.harness import LoadResult, embedded_database, print_table, ratio_rows, write_result
from bench.platform import Platform, running_platform

# Well above what 32 clients send in a minute: the benchmark measures the door, not the limit.
KEY_RATE_LIMIT_PER_MINUTE = 100_000


def _secret_key(platform: Platform, bot_id: str) -> str:
    with httpx.Client(base_url=platform.core.url, headers=platform.user_headers, timeout=60) as c:
        created = c.post(
            f"/api/v1/bots/{bot_id}/keys",
            json={
                "name": "bench",
                "kind": "secret",
                "rate_limit_per_minute": KEY_RATE_LIMIT_PER_MINUTE,
            },
        )
        key: str = created.raise_for_status().json()["key"]
    return key


def main() -> None:
    """Measure both paths at each concurrency, in alternating rounds; print and record."""
    results: dict[int, dict[str, list[LoadResult]]] = {}
    with (
        embedded_database("bench_core", "bench_agent") as database,
        running_platform(database) as platform,
    ):
        bot_id, conversation_id = _prepare(platform)
        key_headers = {"Authorization": f"Bearer {_secret_key(platform, bot_id)}"}
        paths: dict[str, tuple[str, dict[str, str], dict[str, Any]]] = {
            "chat": (
                f"/api/v1/conversations/{conversation_id}/messages",
                platform.user_headers,
                {"content": QUESTION},
            ),
            "openai_chat": (
                "/api/v1/openai/chat/completions",
                key_headers,
                {"model": bot_id, "messages": [{"role": "user", "content": QUESTION}]},
            ),
        }
        for round_number in range(ROUNDS):
            for users in CONCURRENCY:
                measured = results.setdefault(users, {name: [] for name in paths})
                for name, (path, headers, body) in paths.items():
                    label = f"{name}-{users}-{round_number}"
                    host = platform.core.url
                    measured[name].append(_measure(label, users, host, path, headers, body))
    _report(results)


def _report(results: dict[int, dict[str, list[LoadResult]]]) -> None:
    names = {"chat": "core POST …/messages (baseline)", "openai_chat": "core POST openai/…"}
    rows, ratios = ratio_rows(results, names, baseline="chat", measured="openai_chat")
    print_table(
        f"OpenAI path overhead: {SECONDS} s x {ROUNDS} rounds per path (means)",
        ["clients", "path", "req/s", "p50 ms", "p99 ms", "failures", "p50 / native chat"],
        rows,
    )
    print(f"OpenAI chat p50 / native chat p50: {ratios}")
    write_result(
        "openai_overhead",
        {"seconds": SECONDS, "rounds": ROUNDS, "results": results, "ratio_p50": ratios},
    )


if __name__ == "__main__":
    main()
