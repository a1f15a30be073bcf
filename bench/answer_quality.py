"""Benchmark 6: answers users can trust, through the agent's real ``/v1`` API.

On the handbook in ``bench/questions/handbook.json``, for each embedder (``hash``,
``static``; ``local`` when its extra is installed) and vector-only against hybrid retrieval:
- follow-up hit@5: the expected passage is among the cited ones when the second question of a
  two-turn pair is asked with its history, against the same question asked alone (the baseline:
  what a chat turn did before it read the conversation);
- topic change hit@1: a new topic after an old one still finds the new topic first;
- codes hit@1: identifiers such as ZK-4471, 4471, HTTP/2, v1.2.3;
- paraphrase hit@5: questions that share no content word with their passage;
- answered rate on on-topic questions and paraphrases, and refusal rate on off-topic ones (the
  ``answered`` threshold's calibration).
"""

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx

from agent_service.config import EmbedderKind, Environment, Settings
from bench.agent_inprocess import (
    agent_client,
    measured_configurations,
    measured_embedders,
    retrieval_label,
)
from bench.harness import embedded_database, print_table, write_result

HANDBOOK = Path(__file__).parent / "questions" / "handbook.json"


def load_handbook() -> dict[str, Any]:
    """The passages and question sets."""
    handbook: dict[str, Any] = json.loads(HANDBOOK.read_text())
    return handbook


async def _chat(
    client: httpx.AsyncClient, namespace: str, message: str, history: list[dict[str, str]]
) -> dict[str, Any]:
    body = {"namespace": namespace, "message": message, "history": history, "config": {"top_k": 5}}
    answer = await client.post("/v1/chat", json=body)
    answer.raise_for_status()
    result: dict[str, Any] = answer.json()
    return result


def _cited(answer: dict[str, Any]) -> list[str]:
    return [citation["document_id"] for citation in answer["citations"]]


async def _retrieved(client: httpx.AsyncClient, namespace: str, query: str) -> list[str]:
    answer = await client.post(
        "/v1/retrieve", json={"namespace": namespace, "query": query, "top_k": 5}
    )
    answer.raise_for_status()
    return [match["document_id"] for match in answer.json()["matches"]]


async def _follow_up_hits(client: httpx.AsyncClient, namespace: str, pairs: Any) -> tuple[int, int]:
    """(hits with the history, hits of the follow-up asked alone)."""
    with_history = alone = 0
    for pair in pairs:
        history = [
            {"role": "user", "content": pair["first"]},
            {"role": "assistant", "content": "(earlier answer)"},
        ]
        answer = await _chat(client, namespace, pair["follow_up"], history)
        with_history += pair["expected"] in _cited(answer)
        alone += pair["expected"] in _cited(await _chat(client, namespace, pair["follow_up"], []))
    return with_history, alone


async def _evaluate(dsn: str, embedder: EmbedderKind, weight: float | None) -> dict[str, Any]:
    settings = Settings(
        environment=Environment.DEVELOPMENT,
        database_url=dsn,
        embedder=embedder,
        hybrid_search=weight is not None,
        hybrid_vector_weight=weight or 1.0,
        log_level="WARNING",
    )
    handbook = load_handbook()
    namespace = f"answers-{embedder.value}-{weight or 'vector'}"
    chunks = [
        {"id": key, "document_id": key, "text": text} for key, text in handbook["passages"].items()
    ]
    async with agent_client(settings) as client:
        upsert = {"namespace": namespace, "chunks": chunks}
        (await client.post("/v1/index/upsert", json=upsert)).raise_for_status()
        with_history, alone = await _follow_up_hits(client, namespace, handbook["follow_ups"])
        changes = 0
        for change in handbook["topic_changes"]:
            history = [{"role": "user", "content": change["first"]}]
            answer = await _chat(client, namespace, change["question"], history)
            changes += _cited(answer)[:1] == [change["expected"]]
        codes = 0
        for code in handbook["codes"]:
            codes += (await _retrieved(client, namespace, code["query"]))[:1] == [code["expected"]]
        paraphrases = 0
        for paraphrase in handbook["paraphrases"]:
            found = await _retrieved(client, namespace, paraphrase["question"])
            paraphrases += paraphrase["expected"] in found
        answered = [
            (await _chat(client, namespace, q, []))["answered"]
            for q in [*handbook["on_topic"], *(p["question"] for p in handbook["paraphrases"])]
        ]
        refused = [
            not (await _chat(client, namespace, q, []))["answered"] for q in handbook["off_topic"]
        ]
    pairs = len(handbook["follow_ups"])
    return {
        "embedder": embedder.value,
        "retrieval": retrieval_label(weight),
        "follow_up_hit_at_5": round(with_history / pairs, 3),
        "follow_up_alone_hit_at_5": round(alone / pairs, 3),
        "topic_change_hit_at_1": round(changes / len(handbook["topic_changes"]), 3),
        "codes_hit_at_1": round(codes / len(handbook["codes"]), 3),
        "paraphrase_hit_at_5": round(paraphrases / len(handbook["paraphrases"]), 3),
        "answered_on_topic": round(sum(answered) / len(answered), 3),
        "refused_off_topic": round(sum(refused) / len(refused), 3),
    }


def main() -> None:
    """Evaluate every configuration, print and record."""
    with embedded_database("bench_answers") as database:
        dsn = database.url_for("bench_answers")
        results = [
            asyncio.run(_evaluate(dsn, embedder, weight))
            for embedder, weight in measured_configurations()
        ]
    columns = [
        "follow_up_hit_at_5",
        "follow_up_alone_hit_at_5",
        "topic_change_hit_at_1",
        "codes_hit_at_1",
        "paraphrase_hit_at_5",
        "answered_on_topic",
        "refused_off_topic",
    ]
    print_table(
        "Answer quality on bench/questions/handbook.json (baseline: the follow-up asked alone)",
        ["embedder", "retrieval", *columns],
        [[r["embedder"], r["retrieval"], *(r[c] for c in columns)] for r in results],
    )
    if EmbedderKind.LOCAL not in measured_embedders():
        print("local embedder not measured: install the agent's `local` extra to include it")
    write_result("answer_quality", {"results": results, "baseline": "follow-up asked alone"})


if __name__ == "__main__":
    main()
