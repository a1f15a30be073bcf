"""Benchmark 2: chat through core against a bare retrieval on the agent.

Ours: ``POST /api/v1/conversations/{id}/messages`` (auth, quota, store the user message, agent
``/v1/chat`` on the extractive provider, store the answer). Baseline: agent ``/v1/retrieve`` with
the same query, called directly. p50/p99 at 1 and 32 concurrent clients (locust, own process).
Target: core's chat p50 <= 2 x the bare retrieval p50.
"""

import os

import httpx

from bench.corpus import QUESTIONS, documents
from bench.harness import LoadResult, embedded_database, print_table, run_locust, write_result
from bench.platform import Platform, running_platform, wait_until_documents_ready

SECONDS = int(os.environ.get("BENCH_SECONDS", "15"))
CONCURRENCY = (1, 32)
QUESTION = QUESTIONS["collections.deque"]


def _prepare(platform: Platform) -> tuple[str, str]:
    """A bot holding the docstring corpus and a conversation; returns (bot id, conversation id)."""
    corpus = documents()
    with httpx.Client(base_url=platform.core.url, headers=platform.user_headers, timeout=60) as c:
        bot = c.post("/api/v1/bots", json={"name": "bench"}).raise_for_status().json()
        for name, text in corpus.items():
            c.post(f"/api/v1/bots/{bot['id']}/documents/text", json={"name": name, "content": text})
        conversation = c.post(f"/api/v1/bots/{bot['id']}/conversations", json={"title": "bench"})
        conversation_id = conversation.raise_for_status().json()["id"]
    wait_until_documents_ready(platform.core.url, platform.user_headers, bot["id"], len(corpus))
    return bot["id"], conversation_id


def main() -> None:
    """Measure both paths at each concurrency, print and record."""
    results: dict[int, dict[str, LoadResult]] = {}
    with (
        embedded_database("bench_core", "bench_agent") as database,
        running_platform(database) as platform,
    ):
        bot_id, conversation_id = _prepare(platform)
        for users in CONCURRENCY:
            retrieve = run_locust(
                f"retrieve-{users}",
                host=platform.agent.url,
                method="POST",
                path="/v1/retrieve",
                headers={"Authorization": f"Bearer {platform.agent_key}"},
                body={"namespace": f"bot-{bot_id}", "query": QUESTION, "top_k": 5},
                users=users,
                seconds=SECONDS,
            )
            agent_chat = run_locust(
                f"agent-chat-{users}",
                host=platform.agent.url,
                method="POST",
                path="/v1/chat",
                headers={"Authorization": f"Bearer {platform.agent_key}"},
                body={"namespace": f"bot-{bot_id}", "message": QUESTION},
                users=users,
                seconds=SECONDS,
            )
            chat = run_locust(
                f"chat-{users}",
                host=platform.core.url,
                method="POST",
                path=f"/api/v1/conversations/{conversation_id}/messages",
                headers=platform.user_headers,
                body={"content": QUESTION},
                users=users,
                seconds=SECONDS,
            )
            results[users] = {"retrieve": retrieve, "agent_chat": agent_chat, "chat": chat}
    _report(results)


def _report(results: dict[int, dict[str, LoadResult]]) -> None:
    rows, ratios = [], {}
    names = {
        "retrieve": "agent /v1/retrieve (baseline)",
        "agent_chat": "agent /v1/chat (reference)",
        "chat": "core POST …/messages",
    }
    for users, measured in results.items():
        baseline = max(measured["retrieve"].p50_ms, 1.0)
        ratios[users] = round(measured["chat"].p50_ms / baseline, 2)
        for key, name in names.items():
            result = measured[key]
            rows.append(
                [
                    users,
                    name,
                    result.requests_per_s,
                    result.p50_ms,
                    result.p99_ms,
                    result.failures,
                    round(result.p50_ms / baseline, 2),
                ]
            )
    print_table(
        f"Chat overhead: {SECONDS} s per run, extractive provider",
        ["clients", "path", "req/s", "p50 ms", "p99 ms", "failures", "p50 / baseline"],
        rows,
    )
    met = all(ratio <= 2 for ratio in ratios.values())
    print(f"target core chat p50 <= 2 x retrieve p50: {'met' if met else 'NOT met'} {ratios}")
    write_result(
        "chat_overhead",
        {"seconds": SECONDS, "results": results, "ratio_p50": ratios, "target_met": met},
    )


if __name__ == "__main__":
    main()
