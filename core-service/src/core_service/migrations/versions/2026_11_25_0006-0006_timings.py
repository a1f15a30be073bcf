"""Where each answer's time went: the agent's timings stored on the assistant message.

Revision ID: 0006_timings
Revises: 0006_sources
Create Date: 2026-11-25 00:06:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0006_timings"
down_revision: str | None = "0006_sources"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable: messages from before this revision, and user messages, have no timings.
    op.add_column("messages", sa.Column("timings", JSONB(), nullable=True))


def downgrade() -> None:
    op.drop_column("messages", "timings")
