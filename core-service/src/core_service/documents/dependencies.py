"""``OwnedDocument``: a document of one of the caller's bots, else 404."""

import uuid
from typing import Annotated

from fastapi import Depends

from core_service.bots.dependencies import OwnedBot
from core_service.database import SessionDep
from core_service.documents import service as documents_service
from core_service.documents.exceptions import DocumentNotFound
from core_service.documents.models import Document

__all__ = ["OwnedDocument", "get_owned_document"]


async def get_owned_document(
    document_id: uuid.UUID, bot: OwnedBot, session: SessionDep
) -> Document:
    """The document of the caller's bot; ownership is the bot's (``OwnedBot``)."""
    document = await documents_service.get_document(session, bot_id=bot.id, document_id=document_id)
    if document is None:
        raise DocumentNotFound
    return document


OwnedDocument = Annotated[Document, Depends(get_owned_document)]
