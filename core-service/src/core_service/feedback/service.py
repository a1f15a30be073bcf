"""Rating an answer."""

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core_service.bots.models import utcnow
from core_service.conversations import service as conversations_service
from core_service.conversations.models import Conversation, Message, MessageRole
from core_service.feedback.exceptions import FeedbackOnUserMessage, MessageNotFound
from core_service.feedback.schemas import FeedbackCreate
from core_service.webhooks import events as webhook_events

__all__ = ["rate_message"]


async def rate_message(
    session: AsyncSession,
    *,
    conversation: Conversation,
    message_id: uuid.UUID,
    feedback: FeedbackCreate,
) -> Message:
    """Store the rating on one of the conversation's assistant messages (``feedback.created``)."""
    message = await session.scalar(
        select(Message).where(Message.id == message_id, Message.conversation_id == conversation.id)
    )
    if message is None:
        raise MessageNotFound
    if message.role != MessageRole.ASSISTANT.value:
        raise FeedbackOnUserMessage
    message.feedback_rating = feedback.rating.value
    message.feedback_comment = feedback.comment
    message.feedback_at = utcnow()
    await session.flush()
    await webhook_events.emit_feedback_created(
        session, bot_id=conversation.bot_id, message=conversations_service.message_read(message)
    )
    return message
