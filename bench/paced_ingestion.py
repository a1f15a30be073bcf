"""Ingestion against an embedder that takes time, as a hosted one does (issue 23, benchmark 2).

A loopback server speaking Gemini's wire format answers every embedding call after
``BENCH_EMBED_LATENCY_MS`` (100 ms); the agent runs its real Gemini provider against it. We upload
``BENCH_PACED_DOCUMENTS`` (1,000) documents of about 5 KB and time them to ``ready``.

The worker is held (SIGSTOP) while the uploads queue the documents and let go when they are all
queued: the timed window is the pipeline's alone, from a full queue to the last ``ready``, as the
ideal below assumes. Uploading while indexing made the upload path (4 clients) set the pace and
share the CPU, so the ratio measured the uploads as much as the ingestion.

The ideal is what the embedder's latency and the configured concurrency allow: with ``W`` jobs
in flight (``CORE_WORKER_CONCURRENCY`` per worker process) and ``b`` embedding calls per document,
``W / (b x latency)`` documents per second. Target: ours >= 0.8 x the ideal.

The ideal leaves out the CPU the pipeline needs, so each run also reports the CPU time per
document of the core API (the uploads), the worker, the agent and PostgreSQL: two cores' worth
divided by their sum is the rate the machine allows once the embedder is no longer the limit.
"""

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import asyncpg
import httpx
import psutil

from bench.gemini_stub import EmbeddingStub, agent_environment, running_embedding_stub
from bench.harness import embedded_database, print_table, write_result
from bench.platform import Platform, running_platform
from bench.workload import passages

DOCUMENTS = int(os.environ.get("BENCH_PACED_DOCUMENTS", "1000"))
DOCUMENT_BYTES = 5_000
LATENCY_S = int(os.environ.get("BENCH_EMBED_LATENCY_MS", "100")) / 1000
CONCURRENCIES = [int(n) for n in os.environ.get("BENCH_PACED_CONCURRENCY", "2,8").split(",")]
UPLOADERS = 4
TARGET = 0.8
_PROCESSES = ("core", "worker", "agent", "postgres")


def documents(count: int, seed: int) -> list[str]:
    """``count`` distinct texts of about 5 KB."""
    texts = passages(count * (DOCUMENT_BYTES // 300 + 1), seed=seed)
    per_document = len(texts) // count
    return [
        "\n\n".join(texts[i * per_document : (i + 1) * per_document])[:DOCUMENT_BYTES]
        for i in range(count)
    ]


def create_bot(core_url: str, headers: dict[str, str], name: str) -> str:
    """A new bot's id (the set-up request is checked like any other)."""
    with httpx.Client(base_url=core_url, headers=headers, timeout=30) as client:
        answer = client.post("/api/v1/bots", json={"name": name})
        if answer.status_code != 201:
            raise RuntimeError(f"creating a bot answered {answer.status_code}: {answer.text[:300]}")
        bot_id: str = answer.json()["id"]
        return bot_id


def upload_all(core_url: str, headers: dict[str, str], bot_id: str, texts: Sequence[str]) -> None:
    """Upload every text from a few threads, as a bulk import would; any refusal stops the run."""

    def upload(numbered: tuple[int, str]) -> None:
        n, text = numbered
        files = {"file": (f"doc-{n}.txt", text.encode(), "text/plain")}
        answer = client.post(f"/api/v1/bots/{bot_id}/documents", files=files)
        if answer.status_code != 202:
            raise RuntimeError(f"upload {n} answered {answer.status_code}: {answer.text[:300]}")

    limits = httpx.Limits(max_connections=UPLOADERS)
    with (
        httpx.Client(base_url=core_url, headers=headers, timeout=60, limits=limits) as client,
        ThreadPoolExecutor(UPLOADERS) as pool,
    ):
        list(pool.map(upload, enumerate(texts)))


async def document_states(dsn: str, bot_id: str) -> dict[str, int]:
    """How many of a bot's documents are in each state, read from the database.

    Reading the table instead of paging the API keeps the measuring off the service measured.
    """
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch(
            "SELECT status::text, count(*) FROM documents WHERE bot_id = $1 GROUP BY status",
            bot_id,
        )
    finally:
        await connection.close()
    return {row[0]: row[1] for row in rows}


def wait_for_ready(dsn: str, bot_id: str, expected: int, *, timeout_s: float) -> float:
    """Seconds until ``expected`` documents of the bot are ready; fails fast on a failed one."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout_s:
        states = asyncio.run(document_states(dsn, bot_id))
        if states.get("error"):
            raise RuntimeError(f"{states['error']} documents failed to index")
        if states.get("ready", 0) >= expected:
            return time.perf_counter() - started
        time.sleep(0.1)
    raise TimeoutError(f"{expected} documents of bot {bot_id} not ready in {timeout_s:.0f} s")


def _cpu_seconds(pid: int) -> float:
    """CPU time of a process, its live children and the children it has waited for."""
    root = psutil.Process(pid)
    times = root.cpu_times()
    spent = times.user + times.system + times.children_user + times.children_system
    for child in root.children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):
            child_times = child.cpu_times()
            spent += child_times.user + child_times.system
    return spent


def _postmaster_pid(dsn: str) -> int:
    async def backend() -> int:
        connection = await asyncpg.connect(dsn)
        try:
            pid: int = await connection.fetchval("SELECT pg_backend_pid()")
            return psutil.Process(pid).ppid()  # while the backend still runs
        finally:
            await connection.close()

    return asyncio.run(backend())


def _cpu_by_process(platform: Platform, postmaster: int) -> dict[str, float]:
    pids = {
        "core": platform.core.process.pid,
        "worker": platform.worker.pid,
        "agent": platform.agent.process.pid,
        "postgres": postmaster,
    }
    return {name: _cpu_seconds(pid) for name, pid in pids.items()} | _backend_cpu(postmaster)


def _backend_cpu(postmaster: int) -> dict[str, float]:
    """CPU of the live PostgreSQL backends by database: which service's statements cost it.

    The services' pools keep their connections, so the backends live through a run.
    """
    spent = {"postgres_core": 0.0, "postgres_agent": 0.0}
    for backend in psutil.Process(postmaster).children():
        with contextlib.suppress(psutil.NoSuchProcess):
            title = " ".join(backend.cmdline())
            times = backend.cpu_times()
            for database in ("core", "agent"):
                if f" bench_{database} " in title:
                    spent[f"postgres_{database}"] += times.user + times.system
    return spent


def _run(platform: Platform, stub: EmbeddingStub, dsn: str, texts: list[str]) -> dict[str, float]:
    bot_id = create_bot(platform.core.url, platform.user_headers, "paced")
    calls_before = stub.calls
    postmaster = _postmaster_pid(dsn)
    upload_started = time.perf_counter()
    platform.worker.send_signal(signal.SIGSTOP)
    try:
        upload_all(platform.core.url, platform.user_headers, bot_id, texts)
        # The pipeline's CPU only: the uploads' own cost is not what the ideal is about.
        cpu_before = _cpu_by_process(platform, postmaster)
    finally:
        platform.worker.send_signal(signal.SIGCONT)
    started = time.perf_counter()
    uploaded = started - upload_started
    wait_for_ready(dsn, bot_id, len(texts), timeout_s=60 + 5 * len(texts) * LATENCY_S)
    elapsed = time.perf_counter() - started
    cpu_after = _cpu_by_process(platform, postmaster)
    cpu_ms = {
        f"cpu_ms_per_document_{name}": round(1000 * (cpu_after[name] - spent) / len(texts), 1)
        for name, spent in cpu_before.items()
    }
    return {
        **cpu_ms,
        "seconds": round(elapsed, 2),
        # Before the timed window: the queue is full when the worker starts claiming.
        "upload_seconds": round(uploaded, 2),
        "documents_per_s": round(len(texts) / elapsed, 2),
        "calls_per_document": round((stub.calls - calls_before) / len(texts), 3),
        "most_calls_in_flight": stub.most_in_flight,
    }


def main() -> None:
    """Each configured concurrency on a fresh platform; print and record."""
    texts = documents(DOCUMENTS, seed=11)
    rows, results = [], {}
    with running_embedding_stub(LATENCY_S) as stub:
        for concurrency in CONCURRENCIES:
            with embedded_database("bench_core", "bench_agent") as database:
                env = {**agent_environment(stub), "CORE_WORKER_CONCURRENCY": str(concurrency)}
                with running_platform(database, extra_env=env) as platform:
                    stub.most_in_flight = 0
                    run = _run(platform, stub, database.url_for("bench_core"), texts)
            ideal = concurrency / (run["calls_per_document"] * LATENCY_S)
            ratio = round(run["documents_per_s"] / ideal, 3)
            results[str(concurrency)] = {**run, "ideal_per_s": round(ideal, 2), "ratio": ratio}
            cpu = [run[f"cpu_ms_per_document_{name}"] for name in _PROCESSES]
            print(
                f"concurrency {concurrency}: PostgreSQL CPU ms/doc in core's database "
                f"{run['cpu_ms_per_document_postgres_core']}, "
                f"in the agent's {run['cpu_ms_per_document_postgres_agent']}"
            )
            rows.append(
                [concurrency, run["upload_seconds"], run["seconds"], run["documents_per_s"]]
                + [round(ideal, 2), ratio, run["calls_per_document"], run["most_calls_in_flight"]]
                + [*cpu, round(2000 / sum(cpu), 1)]
            )
    print_table(
        f"Ingestion with a {LATENCY_S * 1000:.0f} ms embedder: {DOCUMENTS} documents x 5 KB",
        ["worker concurrency", "uploads s", "s", "docs/s", "ideal docs/s", "ratio"]
        + ["calls/doc", "most in flight"]
        + [f"{name} CPU ms/doc" for name in _PROCESSES]
        + ["2 cores allow docs/s"],
        rows,
    )
    met = all(result["ratio"] >= TARGET for result in results.values())
    print(f"target ours >= {TARGET} x ideal at every concurrency: {'met' if met else 'NOT met'}")
    write_result(
        "paced_ingestion",
        {"documents": DOCUMENTS, "latency_s": LATENCY_S, "runs": results, "target_met": met},
    )


if __name__ == "__main__":
    main()
