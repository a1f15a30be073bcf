"""Original files (blobs), the document's ingestion stage, and duplicate lookups by checksum.

Revision ID: 0003_blobs
Revises: 0002_content
Create Date: 2026-11-25 00:03:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_blobs"
down_revision: str | None = "0003_queue"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "blobs",
        sa.Column("key", sa.String(length=512), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_blobs")),
    )
    op.add_column("documents", sa.Column("stage", sa.String(length=16), nullable=True))
    op.create_index("ix_documents_bot_id_checksum", "documents", ["bot_id", "checksum"])


def downgrade() -> None:
    op.drop_index("ix_documents_bot_id_checksum", table_name="documents")
    op.drop_column("documents", "stage")
    op.drop_table("blobs")
