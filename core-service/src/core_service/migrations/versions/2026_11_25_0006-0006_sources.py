"""Web sources: sources, their pages, and documents that came from a page.

Revision ID: 0006_sources
Revises: 0006_webhooks
Create Date: 2026-11-25 00:06:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006_sources"
down_revision: str | None = "0006_webhooks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _sources() -> None:
    op.create_table(
        "sources",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("bot_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("max_pages", sa.Integer(), nullable=False),
        sa.Column("max_depth", sa.Integer(), nullable=False),
        sa.Column("include", postgresql.JSONB(), nullable=False),
        sa.Column("exclude", postgresql.JSONB(), nullable=False),
        sa.Column("refresh_interval_hours", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("pages_found", sa.Integer(), nullable=False),
        sa.Column("pages_indexed", sa.Integer(), nullable=False),
        sa.Column("pages_failed", sa.Integer(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("robots_txt", sa.Text(), nullable=True),
        sa.Column("sync_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_sync_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["bot_id"], ["bots.id"], name=op.f("fk_sources_bot_id_bots"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sources")),
    )
    op.create_index(
        "ix_sources_bot_id_created_at", "sources", ["bot_id", sa.text("created_at DESC")]
    )


def _documents() -> None:
    op.add_column("documents", sa.Column("source_id", sa.Uuid(), nullable=True))
    op.add_column("documents", sa.Column("url", sa.Text(), nullable=True))
    op.create_foreign_key(
        op.f("fk_documents_source_id_sources"),
        "documents",
        "sources",
        ["source_id"],
        ["id"],
        ondelete="CASCADE",
    )
    op.create_index(op.f("ix_documents_source_id"), "documents", ["source_id"])


def _pages() -> None:
    op.create_table(
        "source_pages",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("source_id", sa.Uuid(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("document_id", sa.Uuid(), nullable=True),
        sa.Column("etag", sa.Text(), nullable=True),
        sa.Column("last_modified", sa.Text(), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=True),
        sa.Column("links", postgresql.JSONB(), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_source_pages_source_id_sources"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_source_pages_document_id_documents"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_source_pages")),
    )
    op.create_index(
        "uq_source_pages_source_id_url", "source_pages", ["source_id", "url"], unique=True
    )
    op.create_index(
        "ix_source_pages_source_id_state",
        "source_pages",
        ["source_id", "generation", "state"],
    )


def upgrade() -> None:
    _sources()
    _documents()
    _pages()


def downgrade() -> None:
    op.drop_table("source_pages")
    op.drop_index(op.f("ix_documents_source_id"), table_name="documents")
    op.drop_constraint(op.f("fk_documents_source_id_sources"), "documents", type_="foreignkey")
    op.drop_column("documents", "url")
    op.drop_column("documents", "source_id")
    op.drop_index("ix_sources_bot_id_created_at", table_name="sources")
    op.drop_table("sources")
