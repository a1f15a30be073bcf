"""Auth: a per-user token epoch that ends earlier access tokens at once; stored bot
configurations lose tool names the agent does not know (they are refused from now on, and a
stored one would make the bot unreadable).

Revision ID: 0003_auth
Revises: 0002_content
Create Date: 2026-11-25 00:03:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_auth"
down_revision: str | None = "0003_blobs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "users",
        sa.Column("token_epoch", sa.Integer(), server_default="0", nullable=False),
    )
    op.execute(
        """
        UPDATE bots SET configuration = jsonb_set(configuration, '{tools}', coalesce(
            (SELECT jsonb_agg(kept.value)
             FROM jsonb_array_elements(configuration -> 'tools') AS kept(value)
             WHERE kept.value #>> '{}' IN ('calculator', 'search_documents')), '[]'))
        WHERE jsonb_typeof(configuration -> 'tools') = 'array'
          AND EXISTS (SELECT 1 FROM jsonb_array_elements_text(configuration -> 'tools') AS t(name)
                      WHERE t.name NOT IN ('calculator', 'search_documents'))
        """
    )


def downgrade() -> None:
    op.drop_column("users", "token_epoch")
