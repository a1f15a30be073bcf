"""Benchmark 5: retrieval quality on a public corpus (CPython docstrings) with written questions.

hit@1, hit@5 and MRR for each embedder (``hash``, ``static``; ``local`` when its extra is
installed) and for vector-only against hybrid retrieval, all through the agent's real ``/v1`` API.
"""

import asyncio
from typing import Any

import httpx

from agent_service.config import EmbedderKind, Environment, Settings
from bench.agent_inprocess import (
    agent_client,
    measured_configurations,
    measured_embedders,
    retrieval_label,
)
from bench.corpus import QUESTIONS, documents
from bench.harness import embedded_database, print_table, write_result


async def _evaluate(dsn: str, embedder: EmbedderKind, weight: float | None) -> dict[str, Any]:
    settings = Settings(
        environment=Environment.DEVELOPMENT,
        database_url=dsn,
        embedder=embedder,
        hybrid_search=weight is not None,
        hybrid_vector_weight=weight or 1.0,
        log_level="WARNING",
    )
    namespace = f"quality-{embedder.value}-{weight or 'vector'}"
    corpus = documents()
    chunks = [{"id": name, "document_id": name, "text": text} for name, text in corpus.items()]
    async with agent_client(settings) as client:
        answer = await client.post(
            "/v1/index/upsert", json={"namespace": namespace, "chunks": chunks}
        )
        answer.raise_for_status()
        ranks = [await _rank(client, namespace, q, target) for target, q in QUESTIONS.items()]
    return _scores(embedder, weight, ranks)


async def _rank(
    client: httpx.AsyncClient, namespace: str, question: str, target: str
) -> int | None:
    answer = await client.post(
        "/v1/retrieve", json={"namespace": namespace, "query": question, "top_k": 10}
    )
    answer.raise_for_status()
    found = [match["document_id"] for match in answer.json()["matches"]]
    return found.index(target) + 1 if target in found else None


def _scores(
    embedder: EmbedderKind, weight: float | None, ranks: list[int | None]
) -> dict[str, Any]:
    count = len(ranks)
    return {
        "embedder": embedder.value,
        "retrieval": retrieval_label(weight),
        "questions": count,
        "hit_at_1": round(sum(r == 1 for r in ranks) / count, 3),
        "hit_at_5": round(sum(r is not None and r <= 5 for r in ranks) / count, 3),
        "mrr_at_10": round(sum(1 / r for r in ranks if r) / count, 3),
    }


def main() -> None:
    """Evaluate every configuration, print and record."""
    with embedded_database("bench_quality") as database:
        dsn = database.url_for("bench_quality")
        results = [
            asyncio.run(_evaluate(dsn, embedder, weight))
            for embedder, weight in measured_configurations()
        ]
    print_table(
        f"Retrieval quality: {len(documents())} CPython docstrings, {len(QUESTIONS)} questions",
        ["embedder", "retrieval", "hit@1", "hit@5", "MRR@10"],
        [
            [r["embedder"], r["retrieval"], r["hit_at_1"], r["hit_at_5"], r["mrr_at_10"]]
            for r in results
        ],
    )
    if EmbedderKind.LOCAL not in measured_embedders():
        print("local embedder not measured: install the agent's `local` extra to include it")
    write_result("retrieval_quality", {"results": results, "baseline": "hash / vector-only"})


if __name__ == "__main__":
    main()
