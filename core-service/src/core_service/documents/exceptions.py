"""Errors of the documents feature."""

import uuid

from core_service.errors import AppError, NotFound

__all__ = [
    "DocumentNotFound",
    "DuplicateDocument",
    "OriginalFileMissing",
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


class DuplicateDocument(AppError):
    """The bot already has a document with the same content (a failed one does not count)."""

    code = "DuplicateDocument"
    status_code = 409

    def __init__(self, *, bot_id: uuid.UUID, document_id: uuid.UUID) -> None:
        # The existing document's id is in the sentence and, for programs, in ``Location``.
        super().__init__(
            f"This bot already has this file as document {document_id}.",
            headers={"Location": f"/api/v1/bots/{bot_id}/documents/{document_id}"},
        )
        self.document_id = document_id


class OriginalFileMissing(NotFound):
    """The document was indexed before originals were kept, so there is no file to download."""

    code = "NotFound"
    detail = "The original file of this document is not available."
