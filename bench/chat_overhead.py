"""Benchmark 2: chat through core against a bare retrieval on the agent.

Ours: ``POST /api/v1/conversations/{id}/messages`` (auth, quota, store the user message, agent
``/v1/chat`` on the extractive provider, store the answer). Baseline: agent ``/v1/retrieve`` with
the same query, called directly. p50/p99 at 1 client (a sequential keep-alive client timing each
request to the microsecond: locust rounds to whole milliseconds, too coarse at 2-3 ms) and at 32
concurrent clients (locust, own process). The paths take turns, round after round, and each
figure is the mean over the rounds, so that a noisy minute on a shared machine weighs on the
baseline as much as on ours. Target (the guard of issue 17): core's chat p50 <= 2.2 x the bare
retrieval p50.
"""

import os
from typing import Any

import httpx

from bench.corpus import QUESTIONS, documents
from bench.harness import (
    LoadResult,
    embedded_database,
    print_table,
    ratio_rows,
    run_locust,
    run_sequential,
    write_result,
)
from bench.platform import Platform, running_platform, wait_until_documents_ready

SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
CONCURRENCY = (1, 32)
QUESTION = QUESTIONS["collections.deque"]

TARGET = 2.2


def _prepare(platform: Platform) -> tuple[str, str]:
    """A bot holding the docstring corpus and a conversation; returns (bot id, conversation id)."""
    corpus = documents()
    with httpx.Client(base_url=platform.core.url, headers=platform.user_headers, timeout=60) as c:
        bot = c.post("/api/v1/bots", json={"name": "bench"}).raise_for_status().json()
        for name, text in corpus.items():
            added = c.post(
                f"/api/v1/bots/{bot['id']}/documents/text", json={"name": name, "content": text}
            )
            # A refused document would never be ready: fail here rather than wait for it.
            if added.status_code != 202:
                raise RuntimeError(f"adding {name!r} answered {added.status_code}: {added.text}")
        conversation = c.post(f"/api/v1/bots/{bot['id']}/conversations", json={"title": "bench"})
        conversation_id = conversation.raise_for_status().json()["id"]
    wait_until_documents_ready(platform.core.url, platform.user_headers, bot["id"], len(corpus))
    return bot["id"], conversation_id


def main() -> None:
    """Measure every path at each concurrency, in alternating rounds; print and record."""
    results: dict[int, dict[str, list[LoadResult]]] = {}
    with (
        embedded_database("bench_core", "bench_agent") as database,
        running_platform(database) as platform,
    ):
        bot_id, conversation_id = _prepare(platform)
        agent_headers = {"Authorization": f"Bearer {platform.agent_key}"}
        paths: dict[str, tuple[str, str, dict[str, str], dict[str, Any]]] = {
            "retrieve": (
                platform.agent.url,
                "/v1/retrieve",
                agent_headers,
                {"namespace": f"bot-{bot_id}", "query": QUESTION, "top_k": 5},
            ),
            "agent_chat": (
                platform.agent.url,
                "/v1/chat",
                agent_headers,
                {"namespace": f"bot-{bot_id}", "message": QUESTION},
            ),
            "chat": (
                platform.core.url,
                f"/api/v1/conversations/{conversation_id}/messages",
                platform.user_headers,
                {"content": QUESTION},
            ),
        }
        for round_number in range(ROUNDS):
            for users in CONCURRENCY:
                measured = results.setdefault(users, {name: [] for name in paths})
                for name, (host, path, headers, body) in paths.items():
                    label = f"{name}-{users}-{round_number}"
                    measured[name].append(_measure(label, users, host, path, headers, body))
    _report(results)


def _measure(
    label: str, users: int, host: str, path: str, headers: dict[str, str], body: dict[str, Any]
) -> LoadResult:
    if users == 1:
        return run_sequential(
            label, host=host, method="POST", path=path, headers=headers, body=body, seconds=SECONDS
        )
    return run_locust(
        label,
        host=host,
        method="POST",
        path=path,
        headers=headers,
        body=body,
        users=users,
        seconds=SECONDS,
    )


def _report(results: dict[int, dict[str, list[LoadResult]]]) -> None:
    names = {
        "retrieve": "agent /v1/retrieve (baseline)",
        "agent_chat": "agent /v1/chat (reference)",
        "chat": "core POST …/messages",
    }
    rows, ratios = ratio_rows(results, names, baseline="retrieve", measured="chat")
    print_table(
        f"Chat overhead: {SECONDS} s x {ROUNDS} rounds per path, extractive provider (means)",
        ["clients", "path", "req/s", "p50 ms", "p99 ms", "failures", "p50 / baseline"],
        rows,
    )
    met = all(ratio <= TARGET for ratio in ratios.values())
    verdict = "met" if met else "NOT met"
    print(f"target core chat p50 <= {TARGET} x retrieve p50: {verdict} {ratios}")
    write_result(
        "chat_overhead",
        {
            "seconds": SECONDS,
            "rounds": ROUNDS,
            "results": results,
            "ratio_p50": ratios,
            "target_met": met,
        },
    )


if __name__ == "__main__":
    main()
