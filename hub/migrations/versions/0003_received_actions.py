"""Exactly-once ingest: received actions (unique per device and message id), device commands, the device's
heartbeat figures and state in columns, and a category for dead letters.

Revision ID: 0003
Revises: 0002
Create Date: 2026-01-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEVICE_COLUMNS = (
    ("state", sa.String(length=16)),
    ("state_at", sa.DateTime(timezone=True)),
    ("heartbeat_at", sa.DateTime(timezone=True)),
    ("version", sa.String(length=64)),
    ("uptime_s", sa.BigInteger()),
    ("outbox_depth", sa.BigInteger()),
    ("outbox_oldest_age_s", sa.BigInteger()),
    ("last_ack_at", sa.DateTime(timezone=True)),
    ("cert_expires_at", sa.DateTime(timezone=True)),
    ("reader_state", sa.String(length=16)),
    ("clock_offset_ms", sa.BigInteger()),
    ("last_batch_at", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        for name, type_ in DEVICE_COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))
        batch.add_column(sa.Column("actions_received", sa.BigInteger(), server_default="0", nullable=False))
        batch.add_column(sa.Column("duplicates_absorbed", sa.BigInteger(), server_default="0", nullable=False))
    with op.batch_alter_table("dead_letters") as batch:
        batch.add_column(sa.Column("category", sa.String(length=16), server_default="malformed", nullable=False))
    op.create_table(
        "received_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.String(length=63), nullable=False),
        sa.Column("msg_id", sa.String(length=36), nullable=False),
        sa.Column("batch_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=63), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.device_id"], name=op.f("fk_received_actions_device_id_devices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_received_actions")),
        sa.UniqueConstraint("device_id", "msg_id", name="uq_received_actions_device_id_msg_id"),
    )
    op.create_index(op.f("ix_received_actions_received_at"), "received_actions", ["received_at"])
    op.create_table(
        "device_commands",
        sa.Column("command_id", sa.String(length=36), nullable=False),
        sa.Column("device_id", sa.String(length=63), nullable=False),
        sa.Column("name", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.device_id"], name=op.f("fk_device_commands_device_id_devices")
        ),
        sa.PrimaryKeyConstraint("command_id", name=op.f("pk_device_commands")),
    )
    op.create_index(op.f("ix_device_commands_device_id"), "device_commands", ["device_id"])
    op.create_index(op.f("ix_device_commands_published_at"), "device_commands", ["published_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_device_commands_published_at"), table_name="device_commands")
    op.drop_index(op.f("ix_device_commands_device_id"), table_name="device_commands")
    op.drop_table("device_commands")
    op.drop_index(op.f("ix_received_actions_received_at"), table_name="received_actions")
    op.drop_table("received_actions")
    with op.batch_alter_table("dead_letters") as batch:
        batch.drop_column("category")
    with op.batch_alter_table("devices") as batch:
        batch.drop_column("duplicates_absorbed")
        batch.drop_column("actions_received")
        for name, _type in reversed(DEVICE_COLUMNS):
            batch.drop_column(name)
