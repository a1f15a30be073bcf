"""Fairness between tenants in the ingestion queue (issue 23, benchmark 3).

Tenant A queues ``BENCH_FAIR_DOCUMENTS`` (2,000) documents; once they are all queued, tenant B
adds one. Targets: B's document is ``ready`` within 5 s while A's are still being
processed, and A's throughput drops by at most 10 % (A's documents per second over the 10 s from
B's upload, against A's rate over the 10 s before it).

The embedder is the loopback Gemini stub with 100 ms per call, so the queue, not the embedder,
decides who waits.
"""

import asyncio
import os
import threading
import time
from collections.abc import Callable

import httpx

from bench.gemini_stub import agent_environment, running_embedding_stub
from bench.harness import embedded_database, print_table, write_result
from bench.paced_ingestion import create_bot, document_states, documents, upload_all
from bench.platform import running_platform, sign_up

DOCUMENTS = int(os.environ.get("BENCH_FAIR_DOCUMENTS", "2000"))
LATENCY_S = int(os.environ.get("BENCH_EMBED_LATENCY_MS", "100")) / 1000
B_TARGET_S = 5.0
DROP_TARGET = 0.10
WINDOW_S = 10.0


def _ready(dsn: str, bot_id: str) -> int:
    return asyncio.run(document_states(dsn, bot_id)).get("ready", 0)


def _wait_until(condition: Callable[[], bool], what: str, timeout_s: float) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout_s:
        if condition():
            return time.perf_counter() - started
        time.sleep(0.05)
    raise TimeoutError(f"gave up waiting for {what} after {timeout_s:.0f} s")


def _rate(dsn: str, bot_id: str, seconds: float) -> float:
    """A's documents per second over the next ``seconds``."""
    before = _ready(dsn, bot_id)
    time.sleep(seconds)
    return (_ready(dsn, bot_id) - before) / seconds


def main() -> None:
    """Queue A's backlog, add B's document, time it; print and record."""
    texts = documents(DOCUMENTS, seed=17)
    with (
        running_embedding_stub(LATENCY_S) as stub,
        embedded_database("bench_core", "bench_agent") as database,
        running_platform(database, extra_env=agent_environment(stub)) as platform,
    ):
        dsn = database.url_for("bench_core")
        a_bot = create_bot(platform.core.url, platform.user_headers, "tenant-a")
        uploading = threading.Thread(
            target=upload_all, args=(platform.core.url, platform.user_headers, a_bot, texts)
        )
        uploading.start()
        uploading.join()
        a_rate_before = _rate(dsn, a_bot, WINDOW_S)
        b_headers = sign_up(platform.core.url, dsn, "tenant_b")
        b_bot = create_bot(platform.core.url, b_headers, "tenant-b")
        a_ready_at_b = _ready(dsn, a_bot)
        started = time.perf_counter()
        with httpx.Client(base_url=platform.core.url, headers=b_headers, timeout=30) as client:
            files = {"file": ("b.txt", documents(1, seed=99)[0].encode(), "text/plain")}
            answer = client.post(f"/api/v1/bots/{b_bot}/documents", files=files)
            if answer.status_code != 202:
                raise RuntimeError(f"B's upload answered {answer.status_code}: {answer.text[:300]}")
            b_document = answer.json()["id"]

            def b_is_ready() -> bool:
                status = client.get(f"/api/v1/bots/{b_bot}/documents/{b_document}")
                return bool(status.raise_for_status().json()["status"] == "ready")

            b_seconds = _wait_until(b_is_ready, "B's document", timeout_s=600)
        a_left = DOCUMENTS - _ready(dsn, a_bot)
        # A's rate over a window as long as the one before, starting with B's upload.
        time.sleep(max(0.0, WINDOW_S - (time.perf_counter() - started)))
        a_during = (_ready(dsn, a_bot) - a_ready_at_b) / (time.perf_counter() - started)
    _report(b_seconds, a_rate_before, a_during, a_left)


def _report(b_s: float, before: float, during: float, a_left: int) -> None:
    drop = 1 - during / before if before else 0.0
    print_table(
        f"Fairness: tenant A queued {DOCUMENTS} documents, then tenant B added one",
        ["measure", "value", "target"],
        [
            ["B's document to ready (s)", round(b_s, 2), f"<= {B_TARGET_S}"],
            ["A's documents still to go when B was ready", a_left, "> 0"],
            ["A's docs/s before B", round(before, 2), ""],
            ["A's docs/s from B's upload on", round(during, 2), ""],
            ["A's drop", f"{drop:.1%}", f"<= {DROP_TARGET:.0%}"],
        ],
    )
    met = b_s <= B_TARGET_S and a_left > 0 and drop <= DROP_TARGET
    print(f"targets: {'met' if met else 'NOT met'}")
    write_result(
        "fairness",
        {
            "documents": DOCUMENTS,
            "b_seconds": round(b_s, 2),
            "a_left_when_b_ready": a_left,
            "a_rate_before": round(before, 3),
            "a_rate_during": round(during, 3),
            "a_drop": round(drop, 3),
            "target_met": met,
        },
    )


if __name__ == "__main__":
    main()
