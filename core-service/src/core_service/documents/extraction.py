"""Text extraction for every supported kind; it runs in the worker's extraction process only.

Every failure a file can cause (encrypted, empty, corrupt, too big once unpacked) becomes an
``ExtractionFailed`` with a sentence a person can act on; the document is then stored as ``error``.
"""

import csv
import io
import re
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from core_service.documents.kinds import DocumentKind, decode_text

__all__ = ["ExtractionFailed", "ExtractionLimits", "extract_text"]

_EXPANDS = "The file expands beyond the size we can process."
_BLANK_RUNS = re.compile(r"\n[ \t]*(?:\n[ \t]*){2,}")
_INVISIBLE_HTML = ("script", "style", "noscript", "template", "svg", "head")


class ExtractionFailed(Exception):
    """The file is of a supported kind but its text cannot be read; ``reason`` is for people."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class ExtractionLimits:
    """Bounds that keep a hostile file from exhausting memory or CPU."""

    max_text_chars: int = 5_000_000
    max_pdf_pages: int = 2_000
    max_unpacked_bytes: int = 200 * 1_048_576
    max_csv_rows: int = 200_000


def extract_text(data: bytes, kind: DocumentKind, limits: ExtractionLimits) -> str:
    """The document's text, normalised; raises ``ExtractionFailed`` with a readable reason."""
    if not data.strip():
        raise ExtractionFailed("The file is empty.")
    try:
        text = _EXTRACTORS[kind](data, limits)
    except ExtractionFailed:
        raise
    except (RecursionError, MemoryError) as error:
        raise ExtractionFailed(_EXPANDS) from error
    except Exception as error:  # noqa: BLE001 - any parser failure means an unreadable file
        raise ExtractionFailed(f"The file could not be read as {_LABELS[kind]}.") from error
    text = _BLANK_RUNS.sub("\n\n", text.replace("\r\n", "\n").replace("\x00", "")).strip()
    if not text:
        raise ExtractionFailed(f"No text could be found in the file ({_LABELS[kind]}).")
    if len(text) > limits.max_text_chars:
        raise ExtractionFailed(
            f"The document has more than {limits.max_text_chars:,} characters of text."
        )
    return text


# The parsers are imported on first use: the worker decodes text itself and leaves the rest to
# its extraction processes, which import only the parser they need.


def _pdf(data: bytes, limits: ExtractionLimits) -> str:
    import pypdf
    from pypdf.errors import FileNotDecryptedError, LimitReachedError, PyPdfError

    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ExtractionFailed("The PDF is encrypted; upload a copy without a password.")
        pages = reader.pages
        if len(pages) > limits.max_pdf_pages:
            raise ExtractionFailed(f"The PDF has more than {limits.max_pdf_pages} pages.")
        return _join_bounded((page.extract_text() or "" for page in pages), limits)
    except FileNotDecryptedError as error:
        raise ExtractionFailed("The PDF is encrypted; upload a copy without a password.") from error
    except LimitReachedError as error:
        raise ExtractionFailed(_EXPANDS) from error
    except PyPdfError as error:
        raise ExtractionFailed("The PDF is damaged and could not be read.") from error


def _docx(data: bytes, limits: ExtractionLimits) -> str:
    import docx

    _check_unpacked_size(data, limits)
    document = docx.Document(io.BytesIO(data))
    parts: list[str] = []
    for block in document.iter_inner_content():
        if hasattr(block, "rows"):
            parts.extend(" | ".join(c.text.strip() for c in row.cells) for row in block.rows)
        else:
            parts.append(block.text)
    return _join_bounded(parts, limits)


def _check_unpacked_size(data: bytes, limits: ExtractionLimits) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile as error:
        raise ExtractionFailed("The Word document is damaged and could not be read.") from error
    if unpacked > limits.max_unpacked_bytes:
        raise ExtractionFailed("The Word document expands beyond the size we can process.")


def _html(data: bytes, limits: ExtractionLimits) -> str:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(_text(data, limits), "html.parser")
    for element in soup(list(_INVISIBLE_HTML)):
        element.decompose()
    return soup.get_text("\n")


# Boilerplate around a page's content: menus, headers, footers, sidebars, forms, cookie banners.
_PAGE_CHROME = (
    "script, style, noscript, template, svg, iframe, form, nav, header, footer, aside, "
    "[role=navigation], [role=banner], [role=contentinfo], [role=complementary], "
    "[aria-hidden=true], [hidden]"
)
_MAIN_CONTENT = ("main", "[role=main]", "article")


def _web_page(data: bytes, limits: ExtractionLimits) -> str:
    """The page's main content under its title, without the navigation and footers around it."""
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(data)
    title_node = tree.css_first("title")
    title = title_node.text(strip=True) if title_node is not None else ""
    for node in tree.css(_PAGE_CHROME):
        node.decompose()
    main = next((n for sel in _MAIN_CONTENT if (n := tree.css_first(sel)) is not None), None)
    root = main or tree.body
    text = root.text(separator="\n", strip=True) if root is not None else ""
    if title and not text.startswith(title):
        text = f"{title}\n\n{text}"
    return text


def _csv(data: bytes, limits: ExtractionLimits) -> str:
    reader = csv.reader(io.StringIO(_text(data, limits)))
    header = next(reader, [])
    lines: list[str] = []
    for number, row in enumerate(reader):
        if number >= limits.max_csv_rows:
            raise ExtractionFailed(f"The CSV file has more than {limits.max_csv_rows:,} rows.")
        # "column: value" lines keep each value next to its meaning for retrieval.
        pairs = (f"{name}: {value}" for name, value in zip(header, row, strict=False) if value)
        lines.append("; ".join(pairs))
    return "\n".join([", ".join(header), *lines])


def _text(data: bytes, limits: ExtractionLimits) -> str:
    text = decode_text(data)
    if text is None:
        raise ExtractionFailed("The file is not valid UTF-8 text.")
    return text


def _join_bounded(parts: Iterable[str], limits: ExtractionLimits) -> str:
    collected: list[str] = []
    total = 0
    for part in parts:
        total += len(part)
        if total > limits.max_text_chars:
            raise ExtractionFailed(
                f"The document has more than {limits.max_text_chars:,} characters of text."
            )
        collected.append(part)
    return "\n\n".join(collected)


_EXTRACTORS: dict[DocumentKind, Callable[[bytes, ExtractionLimits], str]] = {
    DocumentKind.PDF: _pdf,
    DocumentKind.DOCX: _docx,
    DocumentKind.HTML: _html,
    DocumentKind.WEB_PAGE: _web_page,
    DocumentKind.CSV: _csv,
    DocumentKind.MARKDOWN: _text,
    DocumentKind.TEXT: _text,
}
_LABELS: dict[DocumentKind, str] = {
    DocumentKind.PDF: "a PDF",
    DocumentKind.DOCX: "a Word document",
    DocumentKind.HTML: "an HTML page",
    DocumentKind.WEB_PAGE: "a web page",
    DocumentKind.CSV: "a CSV file",
    DocumentKind.MARKDOWN: "Markdown",
    DocumentKind.TEXT: "text",
}
