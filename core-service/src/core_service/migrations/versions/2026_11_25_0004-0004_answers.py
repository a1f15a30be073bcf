"""Answers users can trust: whether an answer was grounded, and the user's feedback on it.

Revision ID: 0004_answers
Revises: 0003_auth
Create Date: 2026-11-25 00:04:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_answers"
down_revision: str | None = "0003_auth"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "messages", sa.Column("answered", sa.Boolean(), server_default=sa.true(), nullable=False)
    )
    op.add_column("messages", sa.Column("feedback_rating", sa.String(8), nullable=True))
    op.add_column("messages", sa.Column("feedback_comment", sa.Text(), nullable=True))
    op.add_column("messages", sa.Column("feedback_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    for column in ("feedback_at", "feedback_comment", "feedback_rating", "answered"):
        op.drop_column("messages", column)
