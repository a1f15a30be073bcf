"""Extracting a document's text in a confined child process, so a hostile file costs little.

The child (``extraction_process``) runs under a CPU-time limit, an address-space limit and a
lower priority; here the worker adds a wall-clock limit (the child is killed when it passes) and a
cap on the text it reads back. Whatever the file does, the worker gets a text or a reason.
"""

import asyncio
import signal
import sys
import time
from dataclasses import dataclass

import structlog

from core_service.config import Settings
from core_service.documents.extraction import ExtractionFailed, ExtractionLimits, extract_text
from core_service.documents.kinds import DocumentKind
from core_service.worker.extraction_process import EXIT_OUT_OF_MEMORY, EXIT_UNREADABLE

__all__ = ["SandboxLimits", "extract_in_child"]

_log = structlog.get_logger(__name__)
_READ_BLOCK = 65_536
_MIB = 1_048_576
# Bounds on what one document may unpack to (archive members of docx, pages of a PDF): far above
# real documents, low enough that a crafted file stops early. The text cap is a setting.
MAX_PDF_PAGES = 2_000
MAX_UNPACKED_BYTES = 200 * _MIB
# Plain text and Markdown are only decoded: the work is linear in the (size-capped) upload and
# nothing in them can expand, so they skip the cost of starting a process.
_DECODED_IN_PROCESS = frozenset({DocumentKind.TEXT, DocumentKind.MARKDOWN})
_CHILD_ENVIRONMENT = {"LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"}


@dataclass(frozen=True)
class SandboxLimits:
    """What one extraction may cost."""

    cpu_seconds: int
    memory_mb: int
    wall_seconds: float
    max_text_chars: int
    max_pdf_pages: int
    max_unpacked_bytes: int

    @classmethod
    def from_settings(cls, settings: Settings) -> "SandboxLimits":
        """The limits the settings give."""
        return cls(
            cpu_seconds=settings.extraction_cpu_seconds,
            memory_mb=settings.extraction_memory_mb,
            wall_seconds=settings.extraction_wall_seconds,
            max_text_chars=settings.ingestion_max_text_chars,
            max_pdf_pages=MAX_PDF_PAGES,
            max_unpacked_bytes=MAX_UNPACKED_BYTES,
        )

    @property
    def extraction_limits(self) -> ExtractionLimits:
        """The limits the extractors check themselves."""
        return ExtractionLimits(
            max_text_chars=self.max_text_chars,
            max_pdf_pages=self.max_pdf_pages,
            max_unpacked_bytes=self.max_unpacked_bytes,
        )

    @property
    def max_output_bytes(self) -> int:
        """UTF-8 takes at most four bytes a character."""
        return self.max_text_chars * 4


async def extract_in_child(data: bytes, kind: DocumentKind, limits: SandboxLimits) -> str:
    """The file's text; raises ``ExtractionFailed`` with a reason for people otherwise."""
    if kind in _DECODED_IN_PROCESS:
        return await asyncio.to_thread(extract_text, data, kind, limits.extraction_limits)
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        *_command(kind, limits),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        # Not the worker's environment: a parser exploited by a file finds no database URL,
        # agent key or storage credentials there.
        env=_CHILD_ENVIRONMENT,
    )
    try:
        async with asyncio.timeout(limits.wall_seconds):
            output = await _exchange(process, data, limits.max_output_bytes)
            status = await process.wait()
    except TimeoutError:
        raise ExtractionFailed(
            f"Reading the file took longer than {limits.wall_seconds:g} seconds."
        ) from None
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        _log.info(
            "extraction_finished",
            kind=kind.value,
            size_bytes=len(data),
            status=process.returncode,
            wall_s=round(time.monotonic() - started, 3),
        )
    return _outcome(status, output, limits)


def _command(kind: DocumentKind, limits: SandboxLimits) -> list[str]:
    arguments = (
        kind.value,
        limits.max_text_chars,
        limits.max_pdf_pages,
        limits.max_unpacked_bytes,
        limits.cpu_seconds,
        limits.memory_mb * _MIB,
    )
    return [sys.executable, "-m", "core_service.worker.extraction_process", *map(str, arguments)]


async def _exchange(process: asyncio.subprocess.Process, data: bytes, cap: int) -> bytes:
    """Feed the file while reading the answer, never holding more than ``cap`` bytes of it."""
    assert process.stdin is not None  # noqa: S101 - PIPEs above
    assert process.stdout is not None  # noqa: S101
    feeding = asyncio.create_task(_feed(process.stdin, data))
    received = bytearray()
    try:
        while block := await process.stdout.read(_READ_BLOCK):
            received += block
            if len(received) > cap:
                raise ExtractionFailed(
                    f"The document has more than {cap // 4:,} characters of text."
                )
    finally:
        feeding.cancel()
    return bytes(received)


async def _feed(stdin: asyncio.StreamWriter, data: bytes) -> None:
    try:
        stdin.write(data)
        await stdin.drain()
        stdin.close()
    except (BrokenPipeError, ConnectionResetError):
        pass  # the child stopped reading (it ended early); its status tells why


def _outcome(status: int, output: bytes, limits: SandboxLimits) -> str:
    if status == 0:
        return output.decode()
    if status == EXIT_UNREADABLE:
        raise ExtractionFailed(output.decode(errors="replace")[:500])
    if status == EXIT_OUT_OF_MEMORY:
        raise ExtractionFailed(f"Reading the file needs more than {limits.memory_mb} MB of memory.")
    if status == -signal.SIGXCPU:
        raise ExtractionFailed(
            f"Reading the file needs more than {limits.cpu_seconds} seconds of CPU time."
        )
    if status == -signal.SIGKILL:
        # Not our kill (that is the wall clock, handled above): the machine's or container's
        # out-of-memory killer, or the hard CPU limit if the first signal was not heeded.
        raise ExtractionFailed("Reading the file needs more memory or CPU time than allowed.")
    raise ExtractionFailed("The file could not be read (the reader stopped unexpectedly).")
