"""``OwnedConversation``: a conversation with one of the caller's bots, else 404."""

import uuid
from typing import Annotated

from fastapi import Depends

from core_service.auth.dependencies import CurrentUser
from core_service.conversations import service as conversations_service
from core_service.conversations.exceptions import ConversationNotFound
from core_service.conversations.models import Conversation
from core_service.database import SessionDep

__all__ = ["OwnedConversation", "get_owned_conversation"]


async def get_owned_conversation(
    conversation_id: uuid.UUID, user: CurrentUser, session: SessionDep
) -> Conversation:
    """The caller's conversation; 404 when it does not exist or is someone else's."""
    conversation = await conversations_service.get_conversation(
        session, conversation_id=conversation_id, owner_id=user.id
    )
    if conversation is None:
        raise ConversationNotFound
    return conversation


OwnedConversation = Annotated[Conversation, Depends(get_owned_conversation)]
