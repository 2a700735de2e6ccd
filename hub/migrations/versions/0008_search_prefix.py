"""Prefix search on SQLite: ``registry_search_terms``, every distinct term of the FTS5 index (docs/decisions.md D50).

A prefix query expands over this list to the OR of the terms it covers (`protocol.search.prefix_expansions`).
The list is filled from the index's own term list (``fts5vocab``): nothing is re-analysed or re-indexed, and a
million documents take one pass over the index inside the upgrade's transaction, so an interrupted upgrade
leaves nothing half done and simply runs again. PostgreSQL searches prefixes with its own index: no change.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("CREATE TABLE registry_search_terms (term TEXT PRIMARY KEY) WITHOUT ROWID")
    op.execute("CREATE VIRTUAL TABLE temp.registry_search_vocab USING fts5vocab(main, registry_search, 'row')")
    op.execute("INSERT INTO registry_search_terms (term) SELECT term FROM temp.registry_search_vocab")
    op.execute("DROP TABLE temp.registry_search_vocab")
    count = op.get_bind().execute(text("SELECT count(*) FROM registry_search_terms")).scalar()
    log.info("registry_search_terms: %s terms listed from the search index", count)


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS registry_search_terms")
