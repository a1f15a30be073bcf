"""Benchmark 3: ingestion throughput, upload to ``ready``, against an in-process floor.

Ours: 200 text documents of about 50 KB uploaded through core, chunked, queued, indexed by the
worker through the agent until every one is ``ready``. Floor: the same chunks embedded with the
same embedder and written with ``COPY`` in one process. Target: ours >= 0.5 x the floor (MB/s).
Also: peak RSS of the worker and core while a single 50 MB text file is ingested.
"""

import asyncio
import os
import threading
import time

import asyncpg
import httpx
import psutil
from langchain_text_splitters import RecursiveCharacterTextSplitter
from pgvector.asyncpg import register_vector

from agent_service.ingestion.embedders import HashEmbedder
from agent_service.retrieval.pgvector_store import ensure_schema
from bench.harness import embedded_database, print_table, write_result
from bench.platform import Platform, running_platform, wait_until_documents_ready
from bench.workload import passages

DOCUMENTS = int(os.environ.get("BENCH_DOCUMENTS", "200"))
DOCUMENT_BYTES = 50_000
BIG_FILE_MB = int(os.environ.get("BENCH_BIG_FILE_MB", "50"))
CHUNK_SIZE, CHUNK_OVERLAP = 1000, 200  # the bot configuration defaults


def _documents(count: int, size: int, seed: int) -> list[str]:
    texts = passages(count * (size // 300 + 1), seed=seed)
    per_document = len(texts) // count
    return [
        "\n\n".join(texts[i * per_document : (i + 1) * per_document])[:size] for i in range(count)
    ]


def _ingest(platform: Platform, texts: list[str]) -> float:
    with httpx.Client(base_url=platform.core.url, headers=platform.user_headers, timeout=600) as c:
        bot = c.post("/api/v1/bots", json={"name": "ingest"}).raise_for_status().json()
        started = time.perf_counter()
        for n, text in enumerate(texts):
            files = {"file": (f"doc-{n}.txt", text.encode(), "text/plain")}
            answer = c.post(f"/api/v1/bots/{bot['id']}/documents", files=files)
            if answer.status_code != 202:
                raise RuntimeError(f"upload answered {answer.status_code}: {answer.text[:300]}")
    wait_until_documents_ready(platform.core.url, platform.user_headers, bot["id"], len(texts))
    return time.perf_counter() - started


async def _floor(dsn: str, texts: list[str]) -> float:
    """Chunk, embed and COPY the same texts in one process."""
    splitter = RecursiveCharacterTextSplitter(chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP)
    embedder = HashEmbedder()
    connection = await asyncpg.connect(dsn)
    await connection.execute("CREATE EXTENSION IF NOT EXISTS vector")
    await register_vector(connection)
    # The same table and indexes the agent keeps (HNSW, full text): the floor pays for them too.
    await ensure_schema(connection, table="floor_chunks", dimensions=embedder.dimensions)
    started = time.perf_counter()
    for n, text in enumerate(texts):
        chunks = splitter.split_text(text)
        vectors = embedder.embed_sync(chunks)
        records = [
            ("floor", f"{n}-{i}", str(n), chunk, vectors[i]) for i, chunk in enumerate(chunks)
        ]
        await connection.copy_records_to_table(
            "floor_chunks",
            records=records,
            columns=["namespace", "id", "document_id", "content", "embedding"],
        )
    elapsed = time.perf_counter() - started
    await connection.close()
    return elapsed


class PeakMemory:
    """Samples the RSS of some processes until stopped."""

    def __init__(self, pids: dict[str, int]) -> None:
        self._processes = {name: psutil.Process(pid) for name, pid in pids.items()}
        self.peak_mb = dict.fromkeys(pids, 0.0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> "PeakMemory":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            for name, process in self._processes.items():
                rss = process.memory_info().rss / 1_048_576
                self.peak_mb[name] = max(self.peak_mb[name], round(rss, 1))


def main() -> None:
    """Run both, the big file, print and record."""
    texts = _documents(DOCUMENTS, DOCUMENT_BYTES, seed=3)
    megabytes = sum(len(t.encode()) for t in texts) / 1_048_576
    with embedded_database("bench_core", "bench_agent", "bench_floor") as database:
        floor_s = asyncio.run(_floor(database.url_for("bench_floor"), texts))
        # The default cap is 5 M characters a document; the big-file run lifts it.
        big_file_env = {"CORE_INGESTION_MAX_TEXT_CHARS": str(BIG_FILE_MB * 1_048_576 + 1)}
        with running_platform(database, extra_env=big_file_env) as platform:
            ours_s = _ingest(platform, texts)
            pids = {"worker": platform.worker.pid, "core": platform.core.process.pid}
            idle = {
                name: round(psutil.Process(pid).memory_info().rss / 1_048_576, 1)
                for name, pid in pids.items()
            }
            big = _documents(1, BIG_FILE_MB * 1_048_576, seed=5)
            with PeakMemory(pids) as memory:
                big_s = _ingest(platform, big)
    _report(megabytes, ours_s, floor_s, big_s, idle, memory.peak_mb)


def _report(
    mb: float,
    ours_s: float,
    floor_s: float,
    big_s: float,
    idle: dict[str, float],
    peak: dict[str, float],
) -> None:
    ours, floor = mb / ours_s, mb / floor_s
    ratio = round(ours / floor, 3)
    print_table(
        f"Ingestion: {DOCUMENTS} documents x {DOCUMENT_BYTES // 1000} KB ({mb:.1f} MB)",
        ["path", "seconds", "MB/s", "ratio"],
        [
            [
                "floor: chunk + embed + COPY, one process",
                round(floor_s, 2),
                round(floor, 3),
                "1.00",
            ],
            ["ours: upload -> worker -> agent -> ready", round(ours_s, 2), round(ours, 3), ratio],
        ],
    )
    print(f"target ours >= 0.5 x floor: {'met' if ratio >= 0.5 else 'NOT met'}")
    print_table(
        f"Memory while ingesting one {BIG_FILE_MB} MB text file ({big_s:.1f} s to ready)",
        ["process", "RSS before MB", "peak RSS MB"],
        [[name, idle[name], peak[name]] for name in idle],
    )
    write_result(
        "ingestion",
        {
            "documents": DOCUMENTS,
            "megabytes": round(mb, 2),
            "ours_seconds": round(ours_s, 2),
            "floor_seconds": round(floor_s, 2),
            "ours_mb_per_s": round(ours, 3),
            "floor_mb_per_s": round(floor, 3),
            "ratio": ratio,
            "target_met": ratio >= 0.5,
            "big_file_mb": BIG_FILE_MB,
            "big_file_seconds": round(big_s, 2),
            "rss_before_mb": idle,
            "rss_peak_mb": peak,
        },
    )


if __name__ == "__main__":
    main()
