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


# Every insert path (ORM, Core, plain SQL) gets its owner without looking it up. A job that
# outlived its bot (vector cleanup) counts as a tenant of its own.
_OWNER_FUNCTION = """
CREATE FUNCTION jobs_fill_in_owner() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.owner_id IS NULL THEN
        NEW.owner_id := coalesce((SELECT owner_id FROM bots WHERE id = NEW.bot_id), NEW.bot_id);
    END IF;
    RETURN NEW;
END
$$
"""


def upgrade() -> None:
    op.add_column("jobs", sa.Column("owner_id", sa.Uuid(), nullable=True))
    op.execute(
        "UPDATE jobs SET owner_id = coalesce("
        "(SELECT owner_id FROM bots WHERE bots.id = jobs.bot_id), bot_id)"
    )
    op.alter_column("jobs", "owner_id", nullable=False)
    op.execute(_OWNER_FUNCTION)
    op.execute(
        "CREATE TRIGGER jobs_owner BEFORE INSERT ON jobs "
        "FOR EACH ROW EXECUTE FUNCTION jobs_fill_in_owner()"
    )
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
    op.execute("DROP TRIGGER jobs_owner ON jobs")
    op.execute("DROP FUNCTION jobs_fill_in_owner()")
    op.drop_column("jobs", "owner_id")
