"""e-ID at the kiosk: a staff member's employee id (HSA-id style), the key of the signed staff list kiosks use.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("staff_users") as batch:
        batch.add_column(sa.Column("employee_id", sa.String(length=64), nullable=True))
        batch.create_unique_constraint("uq_staff_users_employee_id", ["employee_id"])


def downgrade() -> None:
    with op.batch_alter_table("staff_users") as batch:
        batch.drop_constraint("uq_staff_users_employee_id", type_="unique")
        batch.drop_column("employee_id")
