"""``/api/v1/bots/{bot_id}/documents``."""

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Response, UploadFile, status
from sqlalchemy.ext.asyncio import AsyncSession

from core_service.auth.dependencies import CurrentUser
from core_service.blobs.dependencies import Blobs
from core_service.blobs.store import document_key
from core_service.bots.dependencies import OwnedBot
from core_service.database import SessionDep
from core_service.documents import service as documents_service
from core_service.documents.dependencies import OwnedDocument, UploadAllowed
from core_service.documents.exceptions import OriginalFileMissing, UploadTooLarge
from core_service.documents.schemas import ChunkRead, DocumentRead, TextDocumentCreate
from core_service.pagination import Page, PageQuery
from core_service.usage.service import plan_limits
from core_service.users.models import User

__all__ = ["router"]

router = APIRouter(prefix="/bots/{bot_id}/documents", tags=["documents"])
_MIB = 1_048_576
_READ_BLOCK = _MIB


@router.post("", status_code=status.HTTP_202_ACCEPTED, dependencies=[UploadAllowed])
async def upload_document(
    bot: OwnedBot,
    user: CurrentUser,
    session: SessionDep,
    blobs: Blobs,
    file: Annotated[UploadFile, File(description="PDF, DOCX, HTML, Markdown, CSV or text.")],
    name: Annotated[str | None, Form(max_length=255)] = None,
) -> DocumentRead:
    """Upload a file (its type is read from its content); indexing continues in the background."""
    data = await _read_within_plan(session, user, file)
    document = await documents_service.accept_document(
        session,
        bot=bot,
        owner=user,
        name=(name or file.filename or "untitled")[:255],
        data=data,
        filename=file.filename,
        blobs=blobs,
    )
    return DocumentRead.model_validate(document)


@router.post("/text", status_code=status.HTTP_202_ACCEPTED, dependencies=[UploadAllowed])
async def add_text_document(
    bot: OwnedBot,
    user: CurrentUser,
    session: SessionDep,
    blobs: Blobs,
    body: TextDocumentCreate,
) -> DocumentRead:
    """Index pasted text. 202: indexing continues in the background."""
    data = body.content.encode()
    await _check_plan_size(session, user, len(data))
    document = await documents_service.accept_document(
        session, bot=bot, owner=user, name=body.name, data=data, filename=body.name, blobs=blobs
    )
    return DocumentRead.model_validate(document)


@router.get("")
async def list_documents(bot: OwnedBot, session: SessionDep, page: PageQuery) -> Page[DocumentRead]:
    """The bot's documents, newest first."""
    documents, total = await documents_service.list_documents(session, bot_id=bot.id, page=page)
    items = [DocumentRead.model_validate(document) for document in documents]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/{document_id}")
async def get_document(document: OwnedDocument) -> DocumentRead:
    """One document and its ingestion status."""
    return DocumentRead.model_validate(document)


@router.get("/{document_id}/chunks")
async def list_chunks(
    document: OwnedDocument, session: SessionDep, page: PageQuery
) -> Page[ChunkRead]:
    """The document's passages in order."""
    chunks, total = await documents_service.list_chunks(session, document_id=document.id, page=page)
    items = [ChunkRead.model_validate(chunk) for chunk in chunks]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get(
    "/{document_id}/file",
    response_class=Response,
    responses={200: {"description": "The original file.", "content": {"*/*": {}}}},
)
async def download_original(document: OwnedDocument, session: SessionDep, blobs: Blobs) -> Response:
    """The file as it was uploaded (pasted text as UTF-8 text), always as an attachment."""
    key = document_key(bot_id=document.bot_id, document_id=document.id)
    data = await blobs.get(session, key=key)
    if data is None:
        raise OriginalFileMissing
    # An attachment, never sniffed: an uploaded HTML page must not run in our origin.
    headers = {
        "Content-Disposition": _attachment(document.name),
        "X-Content-Type-Options": "nosniff",
    }
    return Response(content=data, media_type=document.content_type, headers=headers)


@router.post("/{document_id}/reindex", status_code=status.HTTP_202_ACCEPTED)
async def reindex_document(
    bot: OwnedBot, user: CurrentUser, document: OwnedDocument, session: SessionDep
) -> DocumentRead:
    """Extract the original again with the bot's current settings and replace its vectors."""
    document = await documents_service.reindex_document(
        session, bot=bot, document=document, owner=user
    )
    return DocumentRead.model_validate(document)


@router.delete("/{document_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_document(
    document: OwnedDocument, user: CurrentUser, session: SessionDep
) -> Response:
    """Delete the document; its vectors are removed in the background."""
    await documents_service.delete_document(session, document=document, owner=user)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


async def _read_within_plan(session: AsyncSession, user: User, file: UploadFile) -> bytes:
    limit = await _plan_upload_bytes(session, user)
    # Reading one byte past the limit tells "too large" without holding more than that.
    chunks: list[bytes] = []
    size = 0
    while block := await file.read(_READ_BLOCK):
        size += len(block)
        if size > limit:
            raise _too_large(limit)
        chunks.append(block)
    return b"".join(chunks)


async def _check_plan_size(session: AsyncSession, user: User, size: int) -> None:
    limit = await _plan_upload_bytes(session, user)
    if size > limit:
        raise _too_large(limit)


async def _plan_upload_bytes(session: AsyncSession, user: User) -> int:
    return (await plan_limits(session, user=user)).max_upload_mb * _MIB


def _too_large(limit: int) -> UploadTooLarge:
    return UploadTooLarge(f"The file is larger than your plan's {limit // _MIB} MB upload limit.")


def _attachment(name: str) -> str:
    # RFC 6266: an ASCII fallback for old clients and the exact name in UTF-8 for the others.
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name
    )
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
