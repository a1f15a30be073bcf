"""The extraction process: confine itself, read a file on stdin, write its text on stdout.

Run by ``core_service.worker.extraction`` as ``python -m core_service.worker.extraction_process``.
The limits are set before any parser is imported or any untrusted byte is read, so everything the
file can make the parsers do is inside them. Exit status 0: stdout is the text (UTF-8); 3: stdout
is the reason the file cannot be read, for people; anything else: the process was stopped.
"""

import os
import resource
import sys

EXIT_UNREADABLE = 3
EXIT_OUT_OF_MEMORY = 4


def _confine(cpu_seconds: int, memory_bytes: int) -> None:
    # The soft CPU limit sends SIGXCPU (which ends the process); the hard one a second later is
    # SIGKILL, in case a parser blocks that signal.
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # Parsing is background work: the API and other services on the machine come first.
    os.nice(10)


def _peak_memory_bytes() -> int:
    # VmHWM, the peak of this address space: getrusage's ru_maxrss would also count the worker's
    # memory from before the exec.
    with open("/proc/self/status", "rb") as status:
        for line in status:
            if line.startswith(b"VmHWM:"):
                return int(line.split()[1]) * 1_024  # in kB
    return 0


def _memory_failure_threshold(limit: int) -> int:
    """Past this much resident memory, a failure is taken for the memory limit."""
    return limit * 3 // 4


def main(arguments: list[str]) -> int:
    """Extract the text of stdin's file; see the module docstring for the protocol."""
    kind_value, max_chars, max_pages, max_unpacked, cpu_seconds, memory_bytes = arguments
    _confine(int(cpu_seconds), int(memory_bytes))
    from core_service.documents.extraction import (  # noqa: PLC0415 - after the limits
        ExtractionFailed,
        ExtractionLimits,
        extract_text,
    )
    from core_service.documents.kinds import DocumentKind  # noqa: PLC0415

    limits = ExtractionLimits(
        max_text_chars=int(max_chars),
        max_pdf_pages=int(max_pages),
        max_unpacked_bytes=int(max_unpacked),
    )
    data = sys.stdin.buffer.read()
    try:
        text = extract_text(data, DocumentKind(kind_value), limits)
    except ExtractionFailed as failure:
        # Parsers report a failed allocation in their own words (libxml2: "unknown error"):
        # a failure near the memory limit is the limit.
        if _peak_memory_bytes() > _memory_failure_threshold(int(memory_bytes)):
            return EXIT_OUT_OF_MEMORY
        sys.stdout.buffer.write(failure.reason.encode())
        return EXIT_UNREADABLE
    sys.stdout.buffer.write(text.encode())
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except MemoryError:
        # Nothing more can be allocated safely (not even a message): the status says it.
        os._exit(EXIT_OUT_OF_MEMORY)
