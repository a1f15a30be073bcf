"""Document kinds and text decoding: standard library only, so that the extraction process
(which must start fast and small) can import them without the web framework."""

from enum import StrEnum

__all__ = ["DocumentKind", "decode_text"]


class DocumentKind(StrEnum):
    """A supported document format; the value is the content type stored and returned."""

    PDF = "application/pdf"
    DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    HTML = "text/html"
    MARKDOWN = "text/markdown"
    CSV = "text/csv"
    TEXT = "text/plain"
    # Not a stored type: how a web source's HTML page is extracted (main content, title kept),
    # where an uploaded HTML file keeps all of its visible text. Its documents say text/html.
    WEB_PAGE = "text/html; profile=web-page"


def decode_text(data: bytes, *, partial: bool = False) -> str | None:
    """UTF-8 (or UTF-16 with a byte-order mark) text, or None when the bytes are not text."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            return None
    try:
        text = data.decode("utf-8-sig", errors="strict")
    except UnicodeDecodeError as error:
        # A multi-byte character cut by the sniffing window is not a reason to refuse the file.
        if not (partial and error.start >= len(data) - 3):
            return None
        text = data[: error.start].decode("utf-8-sig")
    return None if _looks_binary(text) else text


def _looks_binary(text: str) -> bool:
    controls = sum(1 for char in text if ord(char) < 32 and char not in "\t\n\r\f\v")
    return "\x00" in text or controls > max(8, len(text) // 100)
