"""Answers without a language model: the best-matching sentences of the passages, quoted."""

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from agent_service.generation.answers import citation_for
from agent_service.ingestion.embedders import lexical_features, term_features
from agent_service.ingestion.text import content_terms
from agent_service.retrieval.store import StoredMatch
from chatsphere_contracts.v1 import Citation

__all__ = [
    "EXTRACTIVE_MODEL",
    "ExtractiveAnswer",
    "NOTHING_FOUND",
    "extract_answer",
    "quote_lead",
]

EXTRACTIVE_MODEL = "extractive"
NOTHING_FOUND = (
    "Extractive answer: I found nothing relevant to your question in this bot's documents."
)
_HEADER = "Extractive answer (quoted from the bot's documents; no language model was used):"
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n\s*\n|\n(?=\s*[-*•]\s)")
_MAX_SENTENCES = 3
_MIN_SIMILARITY = 0.08
_MAX_SENTENCE_CHARS = 600
_LEAD_SENTENCES = 2


@dataclass(frozen=True, slots=True)
class ExtractiveAnswer:
    """The answer text and the passages it quotes."""

    text: str
    citations: list[Citation]


@dataclass(frozen=True, slots=True)
class _Candidate:
    sentence: str
    passage: int
    position: int
    similarity: float


def extract_answer(question: str, passages: Sequence[StoredMatch]) -> ExtractiveAnswer:
    """Quote up to three sentences that share the most words with the question."""
    chosen = _best_sentences(question, passages)
    if not chosen:
        return ExtractiveAnswer(text=NOTHING_FOUND, citations=[])
    order: list[int] = []
    for candidate in chosen:
        if candidate.passage not in order:
            order.append(candidate.passage)
    quotes = [f'> "{c.sentence}" [{order.index(c.passage) + 1}]' for c in chosen]
    citations = [
        citation_for(
            passages[index],
            " … ".join(c.sentence for c in chosen if c.passage == index),
        )
        for index in order
    ]
    return ExtractiveAnswer(text=_HEADER + "\n\n" + "\n".join(quotes), citations=citations)


def quote_lead(passage: StoredMatch) -> ExtractiveAnswer:
    """The opening sentences of a passage found by meaning alone.

    A paraphrase ("how much vacation do staff get?") may share no word with the sentence that
    answers it ("Employees get 25 days of paid holiday"), so no sentence can be chosen by its
    words; the passage was still judged relevant by the embedder, and its opening is quoted.
    """
    sentences = _sentences(passage.text)[:_LEAD_SENTENCES]
    quotes = [f'> "{sentence}" [1]' for sentence in sentences]
    citation = citation_for(passage, " … ".join(sentences))
    return ExtractiveAnswer(text=_HEADER + "\n\n" + "\n".join(quotes), citations=[citation])


def _best_sentences(question: str, passages: Sequence[StoredMatch]) -> list[_Candidate]:
    wanted = set(content_terms(question))
    if not wanted:
        return []
    query = _weights(lexical_features(question))
    candidates = []
    for index, passage in enumerate(passages):
        for position, sentence in enumerate(_sentences(passage.text)):
            # Each sentence is tokenised once: the terms decide whether it is a candidate at
            # all, and are its features when it is.
            terms = content_terms(sentence)
            if wanted.isdisjoint(terms):
                continue
            similarity = _cosine(query, _weights(term_features(terms)))
            if similarity >= _MIN_SIMILARITY:
                candidates.append(_Candidate(sentence, index, position, similarity))
    best = sorted(candidates, key=lambda c: (-c.similarity, c.passage, c.position))
    return best[:_MAX_SENTENCES]


def _sentences(text: str) -> list[str]:
    pieces = (" ".join(piece.split()) for piece in _SENTENCE_END.split(text))
    return [piece[:_MAX_SENTENCE_CHARS] for piece in pieces if len(piece) > 1]


def _weights(counts: Counter[str]) -> dict[str, float]:
    return {feature: 1.0 + math.log(count) for feature, count in counts.items()}


def _cosine(left: dict[str, float], right: dict[str, float]) -> float:
    dot = sum(weight * right.get(feature, 0.0) for feature, weight in left.items())
    norms = math.sqrt(sum(w * w for w in left.values())) * math.sqrt(
        sum(w * w for w in right.values())
    )
    return dot / norms if norms else 0.0
