"""The sync agent's tables: executed_commands (each hub command runs once), outbox_depth (the number of
undelivered outbox rows, kept exact by triggers) and an index to prune delivered rows.

Revision ID: 0002
Revises: 0001
Create Date: 2026-02-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


_TRIGGERS = {
    "outbox_depth_insert": "AFTER INSERT ON outbox WHEN NEW.delivered_at IS NULL "
    "BEGIN UPDATE outbox_depth SET pending = pending + 1 WHERE id = 1; END",
    "outbox_depth_deliver": "AFTER UPDATE OF delivered_at ON outbox "
    "WHEN OLD.delivered_at IS NULL AND NEW.delivered_at IS NOT NULL "
    "BEGIN UPDATE outbox_depth SET pending = pending - 1 WHERE id = 1; END",
    "outbox_depth_undeliver": "AFTER UPDATE OF delivered_at ON outbox "
    "WHEN OLD.delivered_at IS NOT NULL AND NEW.delivered_at IS NULL "
    "BEGIN UPDATE outbox_depth SET pending = pending + 1 WHERE id = 1; END",
    "outbox_depth_delete": "AFTER DELETE ON outbox WHEN OLD.delivered_at IS NULL "
    "BEGIN UPDATE outbox_depth SET pending = pending - 1 WHERE id = 1; END",
}


def upgrade() -> None:
    op.create_table(
        "executed_commands",
        sa.Column("command_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("executed_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "outbox_depth",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("pending", sa.Integer(), nullable=False),
    )
    op.execute(
        "INSERT INTO outbox_depth (id, pending) SELECT 1, count(*) FROM outbox WHERE delivered_at IS NULL"
    )
    for name, body in _TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {body}")
    op.create_index(
        "ix_outbox_delivered",
        "outbox",
        ["delivered_at"],
        sqlite_where=sa.text("delivered_at IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_delivered", table_name="outbox")
    for name in _TRIGGERS:
        op.execute(f"DROP TRIGGER {name}")
    op.drop_table("outbox_depth")
    op.drop_table("executed_commands")
