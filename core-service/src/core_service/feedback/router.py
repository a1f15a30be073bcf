"""``PUT /api/v1/conversations/{id}/messages/{message_id}/feedback``."""

import uuid

from fastapi import APIRouter

from core_service.conversations import service as conversations_service
from core_service.conversations.dependencies import OwnedConversation
from core_service.conversations.schemas import MessageRead
from core_service.database import SessionDep
from core_service.feedback import service as feedback_service
from core_service.feedback.schemas import FeedbackCreate

__all__ = ["router"]

router = APIRouter(tags=["feedback"])


@router.put("/conversations/{conversation_id}/messages/{message_id}/feedback")
async def rate_message(
    conversation: OwnedConversation,
    message_id: uuid.UUID,
    body: FeedbackCreate,
    session: SessionDep,
) -> MessageRead:
    """Thumbs up or down (with an optional comment) on an answer; 422 on a user's message."""
    message = await feedback_service.rate_message(
        session, conversation=conversation, message_id=message_id, feedback=body
    )
    return conversations_service.message_read(message)
