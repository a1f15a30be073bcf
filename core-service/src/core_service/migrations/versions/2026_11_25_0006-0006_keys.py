"""Bot keys, bot identity secrets, and end users' conversations.

Revision ID: 0006_keys
Revises: 0005_evaluations
Create Date: 2026-11-25 00:06:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006_keys"
down_revision: str | None = "0005_evaluations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bot_keys",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("bot_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("allowed_origins", postgresql.ARRAY(sa.String(length=255)), nullable=False),
        sa.Column("rate_limit_per_minute", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["bot_id"], ["bots.id"], name=op.f("fk_bot_keys_bot_id_bots"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bot_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_bot_keys_key_hash")),
    )
    op.create_index(
        "ix_bot_keys_bot_id_created_at", "bot_keys", ["bot_id", sa.text("created_at DESC")]
    )
    op.create_table(
        "bot_identity_secrets",
        sa.Column("bot_id", sa.Uuid(), nullable=False),
        sa.Column("secret", sa.String(length=128), nullable=False),
        sa.Column(
            "rotated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["bot_id"],
            ["bots.id"],
            name=op.f("fk_bot_identity_secrets_bot_id_bots"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("bot_id", name=op.f("pk_bot_identity_secrets")),
    )
    op.add_column("conversations", sa.Column("end_user_id", sa.String(length=128), nullable=True))
    op.create_index(
        "ix_conversations_bot_id_end_user_id_created_at",
        "conversations",
        ["bot_id", "end_user_id", sa.text("created_at DESC")],
    )


def downgrade() -> None:
    op.drop_index("ix_conversations_bot_id_end_user_id_created_at", table_name="conversations")
    op.drop_column("conversations", "end_user_id")
    op.drop_table("bot_identity_secrets")
    op.drop_index("ix_bot_keys_bot_id_created_at", table_name="bot_keys")
    op.drop_table("bot_keys")
