"""Imports every feature's models so that ``Base.metadata`` knows all tables (for Alembic)."""

from core_service.auth.models import RefreshToken  # noqa: F401
from core_service.billing.models import StripeEvent  # noqa: F401
from core_service.blobs.models import StoredBlob  # noqa: F401
from core_service.botkeys.models import BotIdentitySecret, BotKey  # noqa: F401
from core_service.bots.models import Bot  # noqa: F401
from core_service.conversations.models import Conversation, Message  # noqa: F401
from core_service.database import Base
from core_service.documents.models import Chunk, Document  # noqa: F401
from core_service.evaluations.models import Evaluation  # noqa: F401
from core_service.jobs.models import Job  # noqa: F401
from core_service.plans.models import SubscriptionPlan  # noqa: F401
from core_service.ratelimit.models import RateLimitBucket  # noqa: F401
from core_service.sources.models import Source, SourcePage  # noqa: F401
from core_service.usage.models import UsageCounter  # noqa: F401
from core_service.users.models import User  # noqa: F401
from core_service.webhooks.models import Webhook, WebhookDelivery  # noqa: F401

__all__ = ["Base"]
