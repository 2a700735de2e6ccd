"""Polls: the poll with its rules, schedule, trustees, key, running aggregate and result; the roll of
pseudonyms; the key ceremony's round files; the bulletin board; the trustees' partial decryptions; the record.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('polls',
    sa.Column('id', sa.String(length=63), nullable=False),
    sa.Column('title_sv', sa.String(length=300), nullable=False),
    sa.Column('title_en', sa.String(length=300), nullable=False),
    sa.Column('description_sv', sa.Text(), nullable=False),
    sa.Column('description_en', sa.Text(), nullable=False),
    sa.Column('options', sa.Text(), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('min_selections', sa.Integer(), nullable=False),
    sa.Column('max_selections', sa.Integer(), nullable=False),
    sa.Column('revote', sa.String(length=8), nullable=False),
    sa.Column('secret', sa.Boolean(), nullable=False),
    sa.Column('min_age', sa.Integer(), nullable=True),
    sa.Column('opens_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closes_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('threshold', sa.Integer(), nullable=True),
    sa.Column('trustees', sa.Text(), nullable=False),
    sa.Column('election_key', sa.Text(), nullable=True),
    sa.Column('aggregate', sa.Text(), nullable=True),
    sa.Column('counted', sa.Integer(), nullable=False),
    sa.Column('board_head', sa.String(length=64), nullable=True),
    sa.Column('board_size', sa.Integer(), nullable=False),
    sa.Column('result', sa.Text(), nullable=True),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_polls'))
    )
    with op.batch_alter_table('polls', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_polls_closes_at'), ['closes_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_polls_state'), ['state'], unique=False)

    op.create_table('poll_board',
    sa.Column('poll_id', sa.String(length=63), nullable=False),
    sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('tracking', sa.String(length=64), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('voter', sa.String(length=64), nullable=True),
    sa.Column('cast_at', sa.BigInteger(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('entry', sa.Text(), nullable=False),
    sa.Column('device_id', sa.String(length=63), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['poll_id'], ['polls.id'], name=op.f('fk_poll_board_poll_id_polls')),
    sa.PrimaryKeyConstraint('poll_id', 'seq', name=op.f('pk_poll_board')),
    sa.UniqueConstraint('poll_id', 'tracking', name='uq_poll_board_poll_id_tracking')
    )
    with op.batch_alter_table('poll_board', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_poll_board_code'), ['code'], unique=False)
        batch_op.create_index(batch_op.f('ix_poll_board_voter'), ['voter'], unique=False)

    op.create_table('poll_ceremony_files',
    sa.Column('poll_id', sa.String(length=63), nullable=False),
    sa.Column('round', sa.String(length=16), nullable=False),
    sa.Column('trustee', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('uploaded_by', sa.String(length=200), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['poll_id'], ['polls.id'], name=op.f('fk_poll_ceremony_files_poll_id_polls')),
    sa.PrimaryKeyConstraint('poll_id', 'round', 'trustee', name=op.f('pk_poll_ceremony_files'))
    )
    op.create_table('poll_partials',
    sa.Column('poll_id', sa.String(length=63), nullable=False),
    sa.Column('trustee', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('uploaded_by', sa.String(length=200), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['poll_id'], ['polls.id'], name=op.f('fk_poll_partials_poll_id_polls')),
    sa.PrimaryKeyConstraint('poll_id', 'trustee', name=op.f('pk_poll_partials'))
    )
    op.create_table('poll_records',
    sa.Column('poll_id', sa.String(length=63), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('published_by', sa.String(length=200), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['poll_id'], ['polls.id'], name=op.f('fk_poll_records_poll_id_polls')),
    sa.PrimaryKeyConstraint('poll_id', name=op.f('pk_poll_records'))
    )
    op.create_table('poll_roll',
    sa.Column('poll_id', sa.String(length=63), nullable=False),
    sa.Column('pseudonym', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['poll_id'], ['polls.id'], name=op.f('fk_poll_roll_poll_id_polls')),
    sa.PrimaryKeyConstraint('poll_id', 'pseudonym', name=op.f('pk_poll_roll'))
    )


def downgrade() -> None:
    op.drop_table('poll_roll')
    op.drop_table('poll_records')
    op.drop_table('poll_partials')
    op.drop_table('poll_ceremony_files')
    with op.batch_alter_table('poll_board', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_poll_board_voter'))
        batch_op.drop_index(batch_op.f('ix_poll_board_code'))

    op.drop_table('poll_board')
    with op.batch_alter_table('polls', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_polls_state'))
        batch_op.drop_index(batch_op.f('ix_polls_closes_at'))

    op.drop_table('polls')
