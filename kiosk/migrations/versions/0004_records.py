"""The public records at the kiosk: the catalogue's chunks and documents, their search index, the file cache.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "catalogue_chunks",
        sa.Column("number", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("applied_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "catalogue_documents",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("chunk", sa.Integer(), nullable=False, index=True),
        sa.Column("number", sa.String(40), nullable=False),
        sa.Column("case_number", sa.String(32), nullable=False),
        sa.Column("case_title", sa.Text(), nullable=False),
        sa.Column("board", sa.String(8), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("doc_date", sa.String(10), nullable=False),
        sa.Column("counterpart", sa.Text(), nullable=True),
        sa.Column("secrecy", sa.String(16), nullable=False),
        sa.Column("osl", sa.String(100), nullable=True),
        sa.Column("file_sha256", sa.String(64), nullable=True, index=True),
        sa.Column("media_type", sa.String(100), nullable=True),
        sa.Column("file_size", sa.Integer(), nullable=True),
        sa.Column("pages", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
    )
    op.create_table(
        "file_cache",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("size", sa.Integer(), nullable=True),
        sa.Column("present", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("wanted", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("views", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_viewed_at", sa.DateTime(), nullable=True),
        sa.Column("fetched_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
    )
    # The same index the hub keeps on SQLite (hub migration 0006): stems, with filter columns beside them.
    op.execute(
        "CREATE VIRTUAL TABLE catalogue_search USING fts5("
        "title, meta, body, board UNINDEXED, kind UNINDEXED, doc_date UNINDEXED, "
        "tokenize = 'unicode61 remove_diacritics 0')"
    )


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS catalogue_search")
    op.drop_table("file_cache")
    op.drop_table("catalogue_documents")
    op.drop_table("catalogue_chunks")
