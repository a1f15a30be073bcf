"""Splitting a document's text into passages that keep their place in the text."""

from dataclasses import dataclass

from langchain_text_splitters import RecursiveCharacterTextSplitter

__all__ = ["TextChunk", "split_text"]


@dataclass(frozen=True)
class TextChunk:
    """One passage: ``text[start:end] == content``."""

    index: int
    content: str
    start: int
    end: int


def split_text(text: str, *, chunk_size: int, chunk_overlap: int) -> list[TextChunk]:
    """Passages of at most ``chunk_size`` characters overlapping by about ``chunk_overlap``."""
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=chunk_size, chunk_overlap=chunk_overlap, strip_whitespace=True
    )
    chunks: list[TextChunk] = []
    cursor = 0
    for content in splitter.split_text(text):
        start = _locate(text, content, cursor, chunk_overlap)
        chunks.append(TextChunk(len(chunks), content, start, start + len(content)))
        cursor = start + 1
    return chunks


def _locate(text: str, content: str, cursor: int, overlap: int) -> int:
    # Passages come in order and overlap the previous one by at most ``overlap`` characters,
    # so the search starts just after the previous start and never matches an earlier copy.
    found = text.find(content, cursor)
    if found < 0:
        found = text.find(content, max(0, cursor - overlap - 1))
    if found < 0:
        raise ValueError("a passage is not part of the text it was split from")
    return found
