"""Named polls (staff votes, docs/decisions.md D77): the staff roles that may vote in a named poll.

A named poll (``polls.secret`` false) has no roll, no trustees and no key: its voters are the members on the
hub's staff list, and ``roles`` (JSON, a list of role names; empty: every member) narrows them. Its board rows
use the same table as a secret poll's, with the named entry format.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("polls") as batch:
        batch.add_column(sa.Column("roles", sa.Text(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("polls") as batch:
        batch.drop_column("roles")
