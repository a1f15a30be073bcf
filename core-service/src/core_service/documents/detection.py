"""What kind of document a file is, decided from its bytes; the filename only breaks text ties."""

import csv
import io
import re
import zipfile

from core_service.documents.exceptions import UnsupportedFileType
from core_service.documents.kinds import DocumentKind, decode_text

__all__ = ["DocumentKind", "decode_text", "detect_kind"]

_SNIFF_BYTES = 8_192
# Signatures of binary formats we refuse outright, so that they never reach the text decoder.
_BINARY_SIGNATURES = (
    b"\x89PNG",
    b"\xff\xd8\xff",
    b"GIF8",
    b"\x1f\x8b",
    b"BZh",
    b"\xfd7zXZ",
    b"7z\xbc\xaf",
    b"Rar!",
    b"MZ",
    b"\x7fELF",
    b"\xd0\xcf\x11\xe0",  # legacy OLE: .doc, .xls
    b"RIFF",
    b"OggS",
    b"ID3",
    b"%!PS",
)
_HTML_START = re.compile(
    rb"^\s*(<!doctype\s+html|<html|<head|<body|<!--|<(p|div|h[1-6]|table|title|article)[\s>])",
    re.IGNORECASE,
)
_MARKDOWN_HINTS = re.compile(r"^(#{1,6} \S|```|[-*+] \S|\d+\. \S|> \S)|\[[^\]]+\]\([^)]+\)", re.M)


def detect_kind(data: bytes, *, filename: str | None = None) -> DocumentKind:
    """The document's kind from its content; raises ``UnsupportedFileType`` for anything else."""
    head = data[:_SNIFF_BYTES]
    if b"%PDF-" in head[:1_024]:
        return DocumentKind.PDF
    if head.startswith(b"PK\x03\x04"):
        return _zip_kind(data)
    if head.startswith(_BINARY_SIGNATURES):
        raise UnsupportedFileType
    text = decode_text(head, partial=len(data) > _SNIFF_BYTES)
    if text is None:
        raise UnsupportedFileType
    if _HTML_START.match(head.lstrip(b"\xef\xbb\xbf")):
        return DocumentKind.HTML
    return _text_kind(text, filename=filename)


def _zip_kind(data: bytes) -> DocumentKind:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        # A zip header with a broken body: let the Word extractor report it as unreadable.
        return DocumentKind.DOCX
    if "word/document.xml" in names:
        return DocumentKind.DOCX
    raise UnsupportedFileType


def _text_kind(text: str, *, filename: str | None) -> DocumentKind:
    suffix = (filename or "").lower().rsplit(".", 1)[-1] if filename and "." in filename else ""
    if suffix in {"md", "markdown"}:
        return DocumentKind.MARKDOWN
    if suffix == "csv" or (suffix not in {"txt", "text"} and _looks_like_csv(text)):
        return DocumentKind.CSV if _looks_like_csv(text) else DocumentKind.TEXT
    if suffix not in {"txt", "text"} and len(_MARKDOWN_HINTS.findall(text)) >= 2:
        return DocumentKind.MARKDOWN
    return DocumentKind.TEXT


def _looks_like_csv(text: str) -> bool:
    lines = [line for line in text.splitlines()[:20] if line.strip()]
    if len(lines) < 2:
        return False
    try:
        dialect = csv.Sniffer().sniff("\n".join(lines), delimiters=",;\t")
    except csv.Error:
        return False
    widths = {len(row) for row in csv.reader(lines, dialect)}
    return len(widths) == 1 and widths.pop() >= 2
