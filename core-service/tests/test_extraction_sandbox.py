"""The confined extraction process on its own: text back, or a reason when a limit stops it."""

import time
from dataclasses import replace

import pytest

from core_service.documents.extraction import ExtractionFailed
from core_service.documents.kinds import DocumentKind
from core_service.worker.extraction import SandboxLimits, extract_in_child
from testsupport.core_content import make_pdf
from testsupport.hostile_files import pdf_of_shared_heavy_stream

LIMITS = SandboxLimits(
    cpu_seconds=30,
    memory_mb=512,
    wall_seconds=60,
    max_text_chars=10_000,
    max_pdf_pages=100,
    max_unpacked_bytes=10 * 1_048_576,
)


async def test_a_readable_file_comes_back_as_text() -> None:
    text = await extract_in_child(
        make_pdf("Herons wait.", "Then strike."), DocumentKind.PDF, LIMITS
    )

    assert text == "Herons wait.\n\nThen strike."


async def test_the_cpu_limit_stops_a_heavy_file() -> None:
    # A text cap no heavy page reaches, so the CPU limit is what stops it on a fast machine too.
    limits = replace(LIMITS, cpu_seconds=1, max_text_chars=5_000_000)
    started = time.monotonic()

    with pytest.raises(ExtractionFailed, match="more than 1 seconds of CPU time"):
        await extract_in_child(pdf_of_shared_heavy_stream(), DocumentKind.PDF, limits)
    assert time.monotonic() - started < 30


async def test_the_wall_clock_limit_kills_a_slow_extraction() -> None:
    limits = replace(LIMITS, wall_seconds=0.5)

    with pytest.raises(ExtractionFailed, match="longer than 0.5 seconds"):
        await extract_in_child(pdf_of_shared_heavy_stream(), DocumentKind.PDF, limits)


async def test_text_past_the_cap_is_refused() -> None:
    html = (
        b"<html><body>" + b"<p>Words about herons and their patience.</p>" * 500 + b"</body></html>"
    )

    with pytest.raises(ExtractionFailed, match="more than 10,000 characters"):
        await extract_in_child(html, DocumentKind.HTML, LIMITS)


async def test_a_parser_failure_gives_its_reason() -> None:
    with pytest.raises(ExtractionFailed, match="PDF"):
        await extract_in_child(b"%PDF-1.7\n1 0 obj <<\ngarbage", DocumentKind.PDF, LIMITS)
