"""Type detection and text extraction on real files of every supported kind."""

import io
import zipfile

import docx
import pypdf
import pytest
from reportlab.pdfgen import canvas

from core_service.documents.chunking import split_text
from core_service.documents.detection import DocumentKind, detect_kind
from core_service.documents.exceptions import UnsupportedFileType
from core_service.documents.extraction import ExtractionFailed, ExtractionLimits, extract_text

LIMITS = ExtractionLimits()


def make_pdf(*pages: str) -> bytes:
    """A real PDF with one line of text per page."""
    buffer = io.BytesIO()
    document = canvas.Canvas(buffer)
    for text in pages:
        document.drawString(72, 720, text)
        document.showPage()
    document.save()
    return buffer.getvalue()


def make_docx(*paragraphs: str, table: list[list[str]] | None = None) -> bytes:
    """A real Word document."""
    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for row, values in zip(grid.rows, table, strict=True):
            for cell, value in zip(row.cells, values, strict=True):
                cell.text = value
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def encrypt_pdf(data: bytes, password: str) -> bytes:
    """The same PDF behind a user password."""
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(data)))
    writer.encrypt(password, algorithm="AES-256")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def test_pdf_is_detected_by_content_and_extracted() -> None:
    data = make_pdf("Photosynthesis turns light into sugar.", "Second page about chlorophyll.")

    kind = detect_kind(data, filename="notes.txt")
    text = extract_text(data, kind, LIMITS)

    assert kind is DocumentKind.PDF
    assert "Photosynthesis turns light into sugar." in text
    assert "chlorophyll" in text


def test_docx_paragraphs_and_tables_are_extracted() -> None:
    data = make_docx("Quarterly report", "Revenue grew.", table=[["region", "sales"], ["EU", "12"]])

    kind = detect_kind(data, filename="report.pdf")
    text = extract_text(data, kind, LIMITS)

    assert kind is DocumentKind.DOCX
    assert "Revenue grew." in text
    assert "EU | 12" in text


def test_html_drops_scripts_and_styles() -> None:
    data = (
        b"<!DOCTYPE html><html><head><title>t</title><style>p{}</style></head><body>"
        b"<h1>Tides</h1><script>alert(1)</script><p>The moon pulls the sea.</p></body></html>"
    )

    kind = detect_kind(data, filename="page.bin")
    text = extract_text(data, kind, LIMITS)

    assert kind is DocumentKind.HTML
    assert "The moon pulls the sea." in text
    assert "alert" not in text
    assert "p{}" not in text


def test_markdown_csv_and_text_are_told_apart() -> None:
    markdown = b"# Title\n\nSome *words* and a [link](https://example.org).\n\n- item\n"
    table = b"name,capital\nFrance,Paris\nItaly,Rome\n"
    plain = b"Just a sentence.\nAnother one."

    assert detect_kind(markdown, filename=None) is DocumentKind.MARKDOWN
    assert detect_kind(table, filename="upload") is DocumentKind.CSV
    assert detect_kind(plain, filename="x.csv") is DocumentKind.TEXT
    assert "name: Italy; capital: Rome" in extract_text(table, DocumentKind.CSV, LIMITS)


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 64,
        b"\x7fELF\x02\x01\x01" + b"\x00" * 64,
        bytes(range(256)) * 4,
    ],
    ids=["png", "elf", "random-binary"],
)
def test_binary_files_are_refused_whatever_their_name(data: bytes) -> None:
    with pytest.raises(UnsupportedFileType):
        detect_kind(data, filename="innocent.txt")


def test_a_zip_that_is_not_a_word_document_is_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "hi")

    with pytest.raises(UnsupportedFileType):
        detect_kind(buffer.getvalue(), filename="hello.docx")


@pytest.mark.parametrize(
    ("data", "kind", "reason"),
    [
        (b"", DocumentKind.TEXT, "empty"),
        (b"   \n ", DocumentKind.TEXT, "empty"),
        (b"%PDF-1.7\n this is not really a pdf", DocumentKind.PDF, "PDF"),
        (b"PK\x03\x04 broken zip", DocumentKind.DOCX, "Word"),
        (b"<html><body><script>x</script></body></html>", DocumentKind.HTML, "No text"),
    ],
    ids=["empty", "blank", "corrupt-pdf", "corrupt-docx", "html-without-text"],
)
def test_unreadable_files_fail_with_a_readable_reason(
    data: bytes, kind: DocumentKind, reason: str
) -> None:
    with pytest.raises(ExtractionFailed, match=reason):
        extract_text(data, kind, LIMITS)


def test_an_encrypted_pdf_fails_with_a_readable_reason() -> None:
    data = encrypt_pdf(make_pdf("secret"), "hunter2")

    with pytest.raises(ExtractionFailed, match="encrypted"):
        extract_text(data, detect_kind(data), LIMITS)


def test_a_pdf_without_text_fails_with_a_readable_reason() -> None:
    data = make_pdf("")

    with pytest.raises(ExtractionFailed, match="No text"):
        extract_text(data, DocumentKind.PDF, LIMITS)


def test_a_word_document_that_unpacks_too_large_is_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"\x00" * 4_000_000)
    data = buffer.getvalue()
    assert len(data) < 20_000

    with pytest.raises(ExtractionFailed, match="expands"):
        extract_text(data, detect_kind(data), ExtractionLimits(max_unpacked_bytes=1_048_576))


def test_too_much_text_is_refused() -> None:
    with pytest.raises(ExtractionFailed, match="more than"):
        extract_text(b"word " * 1_000, DocumentKind.TEXT, ExtractionLimits(max_text_chars=1_000))


def test_a_pdf_with_too_many_pages_is_refused() -> None:
    data = make_pdf("one", "two", "three")

    with pytest.raises(ExtractionFailed, match="pages"):
        extract_text(data, DocumentKind.PDF, ExtractionLimits(max_pdf_pages=2))


def test_chunks_respect_size_and_point_into_the_text() -> None:
    text = "\n\n".join(f"Paragraph {n} " + "lorem ipsum dolor " * 12 for n in range(30))

    chunks = split_text(text, chunk_size=300, chunk_overlap=50)

    assert len(chunks) > 10
    assert [chunk.index for chunk in chunks] == list(range(len(chunks)))
    for chunk in chunks:
        assert len(chunk.content) <= 300
        assert text[chunk.start : chunk.end] == chunk.content
    assert all(a.start < b.start for a, b in zip(chunks, chunks[1:], strict=False))


def test_repeated_passages_get_distinct_offsets() -> None:
    text = ("same words again. " * 20 + "\n\n") * 5

    chunks = split_text(text, chunk_size=120, chunk_overlap=20)

    assert all(text[chunk.start : chunk.end] == chunk.content for chunk in chunks)
    assert len({chunk.start for chunk in chunks}) == len(chunks)
