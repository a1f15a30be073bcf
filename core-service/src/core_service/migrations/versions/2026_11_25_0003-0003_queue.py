"""Jobs: an owner per job and the owners' turns, for claims that are fair between tenants.

Revision ID: 0003_queue
Revises: 0002_content
Create Date: 2026-11-25 00:03:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_queue"
down_revision: str | None = "0002_content"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CLAIMABLE = sa.text("state IN ('pending', 'running')")


def upgrade() -> None:
    op.add_column("jobs", sa.Column("owner_id", sa.Uuid(), nullable=True))
    op.execute("UPDATE jobs SET owner_id = bots.owner_id FROM bots WHERE bots.id = jobs.bot_id")
    # Jobs that outlived their bot (vector cleanup) count as a tenant of their own.
    op.execute("UPDATE jobs SET owner_id = bot_id WHERE owner_id IS NULL")
    op.alter_column("jobs", "owner_id", nullable=False)
    op.create_index(
        "ix_jobs_claimable_by_owner",
        "jobs",
        ["owner_id", "visible_after"],
        unique=False,
        postgresql_where=_CLAIMABLE,
    )
    op.create_table(
        "job_owners",
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("last_claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("owner_id", name=op.f("pk_job_owners")),
    )


def downgrade() -> None:
    op.drop_table("job_owners")
    op.drop_index("ix_jobs_claimable_by_owner", table_name="jobs")
    op.drop_column("jobs", "owner_id")
