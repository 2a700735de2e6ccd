"""Prefix search at the kiosk: ``catalogue_search_terms``, every distinct term of the catalogue's FTS5 index, as the
hub keeps for its own (hub migration 0008, docs/decisions.md D50). Filled from the index's own term list in one
pass inside the upgrade's transaction; nothing is re-analysed, and an interrupted upgrade simply runs again.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE TABLE catalogue_search_terms (term TEXT PRIMARY KEY) WITHOUT ROWID")
    op.execute("CREATE VIRTUAL TABLE temp.catalogue_search_vocab USING fts5vocab(main, catalogue_search, 'row')")
    op.execute("INSERT INTO catalogue_search_terms (term) SELECT term FROM temp.catalogue_search_vocab")
    op.execute("DROP TABLE temp.catalogue_search_vocab")


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS catalogue_search_terms")
