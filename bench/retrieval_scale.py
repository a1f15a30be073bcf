"""Benchmark 4: retrieval over 100,000 chunks of 384 dimensions in pgvector.

``/v1/retrieve`` (vector-only and hybrid) against the floor of a raw SQL HNSW query through asyncpg
on the same table; recall@10 of the HNSW answers against exact search (index scans off).
Target: recall@10 >= 0.95 and API p50 <= 3 x the raw query p50.
"""

import asyncio
import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import asyncpg
import httpx
from pgvector.asyncpg import register_vector

from agent_service.ingestion.embedders import HashEmbedder
from agent_service.retrieval.pgvector_store import table_name_for
from bench.harness import (
    embedded_database,
    latency_summary,
    print_table,
    uvicorn_service,
    write_result,
)
from bench.workload import passages, queries_from

CHUNKS = int(os.environ.get("BENCH_CHUNKS", "100000"))
QUERIES = int(os.environ.get("BENCH_QUERIES", "300"))
DIMENSIONS = 384
NAMESPACE = "bot-bench"
BATCH = 500
AUTH = {"Authorization": "Bearer development-only-agent-key"}


def main() -> None:
    """Load, measure, print and record."""
    texts = passages(CHUNKS)
    queries = queries_from(texts, QUERIES)
    with embedded_database("bench_agent") as database:
        base_env = {
            "AGENT_DATABASE_URL": database.url_for("bench_agent"),
            # The raw floor reads the hash embedder's table: the agent must write and read it too.
            "AGENT_EMBEDDER": "hash",
            "AGENT_HASH_DIMENSIONS": str(DIMENSIONS),
            "AGENT_LOG_LEVEL": "WARNING",
        }
        with uvicorn_service(
            "agent-scale-vector",
            "agent_service.main:create_app",
            {**base_env, "AGENT_HYBRID_SEARCH": "false"},
        ) as agent:
            load_seconds = _load(agent.url, texts)
            vector_latencies, api_ids = _query_api(agent.url, queries)
        with uvicorn_service(
            "agent-scale-hybrid",
            "agent_service.main:create_app",
            {**base_env, "AGENT_HYBRID_SEARCH": "true"},
        ) as agent:
            hybrid_latencies, _ = _query_api(agent.url, queries)
        raw = asyncio.run(_raw_sql(database.url_for("bench_agent"), queries))
    _report(load_seconds, vector_latencies, hybrid_latencies, api_ids, raw)


def _load(url: str, texts: list[str]) -> float:
    batches = [texts[i : i + BATCH] for i in range(0, len(texts), BATCH)]

    def send(numbered: tuple[int, list[str]]) -> None:
        first, batch = numbered[0] * BATCH, numbered[1]
        chunks = [
            {"id": f"c{first + n}", "document_id": f"d{(first + n) // 20}", "text": text}
            for n, text in enumerate(batch)
        ]
        with httpx.Client(timeout=600) as client:
            answer = client.post(
                f"{url}/v1/index/upsert",
                json={"namespace": NAMESPACE, "chunks": chunks},
                headers=AUTH,
            )
            answer.raise_for_status()

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(send, enumerate(batches)))
    return time.perf_counter() - started


def _query_api(url: str, queries: list[str]) -> tuple[list[float], list[list[str]]]:
    latencies, ids = [], []
    with httpx.Client(base_url=url, headers=AUTH, timeout=60) as client:
        for query in queries[:10]:  # warm-up
            client.post("/v1/retrieve", json={"namespace": NAMESPACE, "query": query, "top_k": 10})
        for query in queries:
            started = time.perf_counter()
            answer = client.post(
                "/v1/retrieve", json={"namespace": NAMESPACE, "query": query, "top_k": 10}
            )
            latencies.append((time.perf_counter() - started) * 1000)
            answer.raise_for_status()
            ids.append([match["chunk_id"] for match in answer.json()["matches"]])
    return latencies, ids


async def _raw_sql(dsn: str, queries: list[str]) -> dict[str, Any]:
    embedder = HashEmbedder(DIMENSIONS)
    vectors = embedder.embed_sync(queries)
    table = table_name_for(embedder.model, DIMENSIONS)
    sql = f"SELECT id FROM {table} WHERE namespace = $1 ORDER BY embedding <=> $2 LIMIT 10"  # noqa: S608
    connection = await asyncpg.connect(dsn)
    await register_vector(connection)
    try:
        await connection.execute("SET hnsw.ef_search = 100")
        await connection.execute("SET hnsw.iterative_scan = relaxed_order")
        for vector in vectors[:10]:
            await connection.fetch(sql, NAMESPACE, vector)
        latencies, approximate = [], []
        for vector in vectors:
            started = time.perf_counter()
            rows = await connection.fetch(sql, NAMESPACE, vector)
            latencies.append((time.perf_counter() - started) * 1000)
            approximate.append([row["id"] for row in rows])
        await connection.execute("SET enable_indexscan = off")
        exact = [[r["id"] for r in await connection.fetch(sql, NAMESPACE, v)] for v in vectors]
    finally:
        await connection.close()
    return {"latencies": latencies, "approximate": approximate, "exact": exact}


def _recall(found: list[list[str]], exact: list[list[str]]) -> float:
    hits = sum(len(set(f) & set(e)) for f, e in zip(found, exact, strict=True))
    return round(hits / max(1, sum(len(e) for e in exact)), 4)


def _report(
    load_s: float,
    vector: list[float],
    hybrid: list[float],
    api_ids: list[list[str]],
    raw: dict[str, Any],
) -> None:
    raw_p50, raw_p99 = latency_summary(raw["latencies"])
    vec_p50, vec_p99 = latency_summary(vector)
    hyb_p50, hyb_p99 = latency_summary(hybrid)
    recall_api = _recall(api_ids, raw["exact"])
    recall_raw = _recall(raw["approximate"], raw["exact"])
    rows = [
        ["raw SQL HNSW (floor)", raw_p50, raw_p99, "1.00", recall_raw],
        ["/v1/retrieve vector-only", vec_p50, vec_p99, f"{vec_p50 / raw_p50:.2f}", recall_api],
        ["/v1/retrieve hybrid", hyb_p50, hyb_p99, f"{hyb_p50 / raw_p50:.2f}", "-"],
    ]
    print_table(
        f"Retrieval at scale: {CHUNKS} chunks x {DIMENSIONS} dims, {QUERIES} queries, 1 client",
        ["path", "p50 ms", "p99 ms", "p50 / floor", "recall@10"],
        rows,
    )
    print(f"load through /v1/index/upsert: {CHUNKS / load_s:.0f} chunks/s ({load_s:.1f} s)")
    write_result(
        "retrieval_scale",
        {
            "chunks": CHUNKS,
            "dimensions": DIMENSIONS,
            "queries": QUERIES,
            "load_chunks_per_s": round(CHUNKS / load_s, 1),
            "raw_sql": {"p50_ms": raw_p50, "p99_ms": raw_p99, "recall_at_10": recall_raw},
            "api_vector": {"p50_ms": vec_p50, "p99_ms": vec_p99, "recall_at_10": recall_api},
            "api_hybrid": {"p50_ms": hyb_p50, "p99_ms": hyb_p99},
            "ratio_p50_vector_to_raw": round(vec_p50 / raw_p50, 2),
            "ratio_p50_hybrid_to_raw": round(hyb_p50 / raw_p50, 2),
            "targets": {
                "recall_at_10_ge_0_95": recall_api >= 0.95,
                "p50_le_3x_raw": vec_p50 <= 3 * raw_p50,
            },
        },
    )


if __name__ == "__main__":
    main()
