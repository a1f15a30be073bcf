"""``OwnedDocument``: a document of one of the caller's bots, else 404; the upload rate limit."""

import uuid
from typing import Annotated

from fastapi import Depends, Request

from core_service.auth.dependencies import AppSettings, CurrentUser
from core_service.bots.dependencies import OwnedBot
from core_service.database import SessionDep
from core_service.documents import service as documents_service
from core_service.documents.exceptions import DocumentNotFound
from core_service.documents.models import Document
from core_service.ratelimit.dependencies import count_hit
from core_service.ratelimit.service import Limit, bucket_key

__all__ = ["OwnedDocument", "UploadAllowed", "count_upload", "get_owned_document"]

# The upload rate is a count per minute; operators turn the count (rate_limit_uploads_per_user).
_UPLOADS_WINDOW_S = 60


async def get_owned_document(
    document_id: uuid.UUID, bot: OwnedBot, session: SessionDep
) -> Document:
    """The document of the caller's bot; ownership is the bot's (``OwnedBot``)."""
    document = await documents_service.get_document(session, bot_id=bot.id, document_id=document_id)
    if document is None:
        raise DocumentNotFound
    return document


OwnedDocument = Annotated[Document, Depends(get_owned_document)]


async def count_upload(request: Request, user: CurrentUser, settings: AppSettings) -> None:
    """429 with ``Retry-After`` past the per-user upload rate, before the file is looked at."""
    limit = Limit(settings.rate_limit_uploads_per_user, _UPLOADS_WINDOW_S)
    await count_hit(request, key=bucket_key("upload:user", str(user.id)), limit=limit)


UploadAllowed = Depends(count_upload)
