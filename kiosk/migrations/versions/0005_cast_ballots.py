"""Voting at the kiosk: the ballots cast here (tracking code, poll, pseudonym, time), for the receipt and for
"you have voted here before". The ballot itself travels in the outbox row stored in the same transaction.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cast_ballots",
        sa.Column("tracking_hash", sa.String(64), primary_key=True),
        sa.Column("poll_id", sa.String(64), nullable=False),
        sa.Column("pseudonym", sa.String(64), nullable=False),
        sa.Column("outbox_id", sa.String(36), nullable=False),
        sa.Column("cast_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_cast_ballots_poll_pseudonym", "cast_ballots", ["poll_id", "pseudonym"])


def downgrade() -> None:
    op.drop_index("ix_cast_ballots_poll_pseudonym", "cast_ballots")
    op.drop_table("cast_ballots")
