"""Deterministic synthetic text: passages and queries drawn from a real vocabulary."""

import random
import re
from functools import lru_cache

from bench.corpus import documents

_WORD = re.compile(r"[a-z]{3,}")


@lru_cache(maxsize=1)
def vocabulary() -> list[str]:
    """Distinct words of the standard-library docstring corpus, most frequent first."""
    counts: dict[str, int] = {}
    for text in documents().values():
        for word in _WORD.findall(text.lower()):
            counts[word] = counts.get(word, 0) + 1
    return sorted(counts, key=lambda w: (-counts[w], w))


def passages(count: int, *, seed: int = 7, words: int = 45) -> list[str]:
    """``count`` passages of about ``words`` words with a Zipf-like word distribution."""
    rng = random.Random(seed)
    vocab = vocabulary()
    weights = [1.0 / (rank + 10) for rank in range(len(vocab))]
    return [
        " ".join(rng.choices(vocab, weights=weights, k=rng.randint(words - 10, words + 10)))
        for _ in range(count)
    ]


def queries_from(texts: list[str], count: int, *, seed: int = 11, words: int = 6) -> list[str]:
    """Queries made of a few consecutive words of randomly chosen passages."""
    rng = random.Random(seed)
    chosen = []
    for _ in range(count):
        tokens = rng.choice(texts).split()
        start = rng.randrange(max(1, len(tokens) - words))
        chosen.append(" ".join(tokens[start : start + words]))
    return chosen
