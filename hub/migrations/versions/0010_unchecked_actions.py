"""Received actions the hub could not check get their own status, "unchecked" (was "refused" with a reason that
began "the hub cannot check"), so that `tinget hub poll recheck` finds them by status, not by wording.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ACTIONS = sa.table("received_actions", sa.column("status", sa.String), sa.column("reason", sa.Text))


def upgrade() -> None:
    op.execute(
        _ACTIONS.update()
        .where(_ACTIONS.c.status == "refused", _ACTIONS.c.reason.like("the hub cannot check %"))
        .values(status="unchecked")
    )


def downgrade() -> None:
    op.execute(_ACTIONS.update().where(_ACTIONS.c.status == "unchecked").values(status="refused"))
