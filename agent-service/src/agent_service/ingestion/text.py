"""Text normalisation shared by the lexical embedder and the extractive answerer."""

import re
import unicodedata
from functools import lru_cache

__all__ = ["STOPWORDS", "content_terms", "normalise", "stem", "words"]

_WORD = re.compile(r"[^\W_]+")

# Without document frequencies (the embedder is stateless), function words would dominate the
# vectors; dropping them is the cheap, deterministic stand-in for idf.
STOPWORDS = frozenset(
    """
    a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each else few
    for from further had has have having he her here hers herself him himself his how i if
    in into is it its itself just me more most my myself no nor not now of off on once only
    or other our ours ourselves out over own same she should so some such than that the
    their theirs them themselves then there these they this those through to too under
    until up very was we were what when where which while who whom why will with would you
    your yours yourself yourselves also may might must shall us use used using one get gets
    way ways
    """.split()
)


def normalise(text: str) -> str:
    """Case-folded text without accents, so that 'Café' and 'cafe' are one word."""
    if text.isascii():
        # Nothing to decompose, and ASCII case-folds as it lowercases: about 20 x faster.
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


@lru_cache(maxsize=65_536)
def stem(word: str) -> str:
    """A light suffix stripper: enough to meet 'creates' with 'created' and 'create'."""
    if len(word) <= 3:
        return word
    stripped = _strip_suffix(word)
    # A final 'e' comes and goes with suffixes ('create', 'creating'): drop it everywhere.
    return stripped[:-1] if stripped.endswith("e") and len(stripped) > 3 else stripped


def _strip_suffix(word: str) -> str:
    for suffix, replacement in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: len(word) - len(suffix)] + replacement
    if word.endswith(("ches", "shes", "sses", "xes", "zes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("ational", "ate"),
    ("ization", "ize"),
    ("ingly", ""),
    ("ments", ""),
    ("ment", ""),
    ("ness", ""),
    ("edly", ""),
    ("ies", "y"),
    ("ing", ""),
    ("ied", "y"),
    ("ed", ""),
    ("ly", ""),
)


def words(text: str) -> list[str]:
    """The normalised words of ``text``, stopwords included."""
    found: list[str] = _WORD.findall(normalise(text))
    return found


def content_terms(text: str) -> list[str]:
    """The stemmed words of ``text`` that carry meaning, in order.

    Numbers are kept: they are what identifies an error code, a version or a ticket.
    """
    return [stem(word) for word in words(text) if word not in STOPWORDS]
