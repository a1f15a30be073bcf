"""Small files that are expensive to parse, built by the tests themselves (issue: hostile input)."""

import io
import zipfile
import zlib

from testsupport.core_content import make_docx

__all__ = ["docx_of_empty_paragraphs", "pdf_of_shared_heavy_stream"]

_DOCUMENT_XML = "word/document.xml"
_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def docx_of_empty_paragraphs(unpacked_mb: int = 20, *, salt: str = "") -> bytes:
    """A valid .docx whose body is ``unpacked_mb`` MB of ``<w:p/>``: tens of KB on the wire."""
    body = b"<w:p/>" * (unpacked_mb * 1_048_576 // 6)
    xml = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="{_W}">'
        f"<w:body><!--{salt}-->".encode()
        + body
        + b"</w:body></w:document>"
    )
    source = zipfile.ZipFile(io.BytesIO(make_docx("x")))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for item in source.infolist():
            data = xml if item.filename == _DOCUMENT_XML else source.read(item.filename)
            archive.writestr(item.filename, data)
    return out.getvalue()


def pdf_of_shared_heavy_stream(
    pages: int = 50, operators: int = 20_000, *, salt: str = ""
) -> bytes:
    """A PDF of ``pages`` pages that all draw one compressed content stream of text operators."""
    content = b"BT /F1 1 Tf " + b"(a) Tj 1 0 Td " * operators + b"ET"
    stream = zlib.compress(content, 9)
    first_page = 5
    kids = " ".join(f"{first_page + n} 0 R" for n in range(pages))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        f"<< /Length {len(stream)} /Filter /FlateDecode >>\nstream\n".encode()
        + stream
        + b"\nendstream",
    ]
    page = "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
    page += "/Resources << /Font << /F1 3 0 R >> >> >>"
    objects += [page.encode()] * pages
    return _pdf_file(objects, comment=salt)


def _pdf_file(objects: list[bytes], *, comment: str) -> bytes:
    out = io.BytesIO()
    out.write(f"%PDF-1.7\n%{comment}\n".encode())
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    trailer = f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    out.write(trailer.encode())
    return out.getvalue()
