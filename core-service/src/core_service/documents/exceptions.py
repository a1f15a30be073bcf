"""Errors of the documents feature."""

from core_service.errors import AppError, NotFound

__all__ = [
    "DocumentNotFound",
    "DocumentNotReindexable",
    "ExtractionFailed",
    "UnsupportedFileType",
    "UploadTooLarge",
]


class DocumentNotFound(NotFound):
    """No such document among the caller's bot's documents."""

    code = "NotFound"
    detail = "Document not found."


class UnsupportedFileType(AppError):
    """The content is none of the supported formats (whatever the filename says)."""

    code = "UnsupportedMediaType"
    status_code = 415
    detail = (
        "Unsupported file type: upload a PDF, Word (.docx), HTML, Markdown, CSV or plain-text file."
    )


class UploadTooLarge(AppError):
    """The file is larger than the caller's plan allows."""

    code = "PayloadTooLarge"
    status_code = 413
    detail = "The file is larger than your plan allows."


class ExtractionFailed(Exception):
    """The file is of a supported kind but its text cannot be read; ``reason`` is for people."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class DocumentNotReindexable(AppError):
    """The document has no text to index again (its file could not be read)."""

    code = "DocumentNotReindexable"
    status_code = 409
    detail = "This document has no text to index; upload the file again."
