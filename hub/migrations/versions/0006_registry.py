"""The public records registry: cases, documents, files, notices, requests, weedings, catalogue chunks, imports,
and the search index (SQLite: an FTS5 table over stems; PostgreSQL: a weighted ``swedish`` tsvector with GIN).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('registry_cases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('board', sa.String(length=8), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('serial', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('opened_on', sa.Date(), nullable=False),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registry_cases')),
    sa.UniqueConstraint('board', 'year', 'serial', name='uq_registry_cases_board_year_serial'),
    sa.UniqueConstraint('number', name=op.f('uq_registry_cases_number'))
    )
    op.create_table('registry_catalogue_chunks',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('sha256', name=op.f('pk_registry_catalogue_chunks'))
    )
    with op.batch_alter_table('registry_catalogue_chunks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_registry_catalogue_chunks_number'), ['number'], unique=False)

    op.create_table('registry_files',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('media_type', sa.String(length=100), nullable=False),
    sa.Column('stored_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('sha256', name=op.f('pk_registry_files'))
    )
    op.create_table('registry_imports',
    sa.Column('source_sha256', sa.String(length=64), nullable=False),
    sa.Column('source_name', sa.String(length=500), nullable=False),
    sa.Column('next_row', sa.Integer(), nullable=False),
    sa.Column('imported', sa.Integer(), nullable=False),
    sa.Column('rejected', sa.Integer(), nullable=False),
    sa.Column('finished', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('source_sha256', name=op.f('pk_registry_imports'))
    )
    op.create_table('registry_series',
    sa.Column('board', sa.String(length=8), nullable=False),
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last_serial', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('board', 'year', name=op.f('pk_registry_series'))
    )
    op.create_table('registry_weedings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('case_number', sa.String(length=32), nullable=False),
    sa.Column('document_serial', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('document_date', sa.Date(), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=True),
    sa.Column('rule', sa.String(length=100), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('weeded_by', sa.String(length=200), nullable=False),
    sa.Column('weeded_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registry_weedings'))
    )
    op.create_table('registry_documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('serial', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('document_date', sa.Date(), nullable=False),
    sa.Column('registered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('counterpart', sa.String(length=300), nullable=True),
    sa.Column('file_sha256', sa.String(length=64), nullable=True),
    sa.Column('file_name', sa.String(length=255), nullable=True),
    sa.Column('page_count', sa.Integer(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('secrecy', sa.String(length=16), nullable=False),
    sa.Column('osl_paragraph', sa.String(length=100), nullable=True),
    sa.Column('personal_data', sa.Boolean(), nullable=False),
    sa.Column('retention_years', sa.Integer(), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('views', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['registry_cases.id'], name=op.f('fk_registry_documents_case_id_registry_cases')),
    sa.ForeignKeyConstraint(['file_sha256'], ['registry_files.sha256'], name=op.f('fk_registry_documents_file_sha256_registry_files')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registry_documents')),
    sa.UniqueConstraint('case_id', 'serial', name='uq_registry_documents_case_id_serial')
    )
    with op.batch_alter_table('registry_documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_registry_documents_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_registry_documents_document_date'), ['document_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_registry_documents_published_at'), ['published_at'], unique=False)

    op.create_table('registry_notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('board', sa.String(length=8), nullable=True),
    sa.Column('document_id', sa.Integer(), nullable=True),
    sa.Column('posted_on', sa.Date(), nullable=False),
    sa.Column('takedown_on', sa.Date(), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['registry_documents.id'], name=op.f('fk_registry_notices_document_id_registry_documents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registry_notices'))
    )
    with op.batch_alter_table('registry_notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_registry_notices_posted_on'), ['posted_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_registry_notices_takedown_on'), ['takedown_on'], unique=False)

    op.create_table('registry_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=16), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=True),
    sa.Column('case_number', sa.String(length=32), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('contact', sa.String(length=300), nullable=True),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('device_id', sa.String(length=63), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('handled_by', sa.String(length=200), nullable=True),
    sa.Column('handled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision_note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['document_id'], ['registry_documents.id'], name=op.f('fk_registry_requests_document_id_registry_documents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registry_requests')),
    sa.UniqueConstraint('reference', name=op.f('uq_registry_requests_reference'))
    )
    with op.batch_alter_table('registry_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_registry_requests_document_id'), ['document_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_registry_requests_received_at'), ['received_at'], unique=False)


    _create_search_index()

def downgrade() -> None:
    _drop_search_index()
    with op.batch_alter_table('registry_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_registry_requests_received_at'))
        batch_op.drop_index(batch_op.f('ix_registry_requests_document_id'))

    op.drop_table('registry_requests')
    with op.batch_alter_table('registry_notices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_registry_notices_takedown_on'))
        batch_op.drop_index(batch_op.f('ix_registry_notices_posted_on'))

    op.drop_table('registry_notices')
    with op.batch_alter_table('registry_documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_registry_documents_published_at'))
        batch_op.drop_index(batch_op.f('ix_registry_documents_document_date'))
        batch_op.drop_index(batch_op.f('ix_registry_documents_case_id'))

    op.drop_table('registry_documents')
    op.drop_table('registry_weedings')
    op.drop_table('registry_series')
    op.drop_table('registry_imports')
    op.drop_table('registry_files')
    with op.batch_alter_table('registry_catalogue_chunks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_registry_catalogue_chunks_number'))

    op.drop_table('registry_catalogue_chunks')
    op.drop_table('registry_cases')


# The index over what the public may search: one row per published document (see hub/registry/search.py).
# Filter columns (board, kind, date) sit beside the text so a filtered search needs no join.
SQLITE_SEARCH = (
    "CREATE VIRTUAL TABLE registry_search USING fts5("
    "title, meta, body, board UNINDEXED, kind UNINDEXED, doc_date UNINDEXED, "
    "tokenize = 'unicode61 remove_diacritics 0')"
)
POSTGRES_SEARCH = (
    """CREATE TABLE registry_search (
        doc_id integer PRIMARY KEY REFERENCES registry_documents (id) ON DELETE CASCADE,
        board varchar(8) NOT NULL,
        kind varchar(16) NOT NULL,
        doc_date date NOT NULL,
        tsv tsvector NOT NULL
    )""",
    "CREATE INDEX registry_search_tsv ON registry_search USING gin (tsv)",
)


def _create_search_index() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(SQLITE_SEARCH)
    else:
        for statement in POSTGRES_SEARCH:
            op.execute(statement)


def _drop_search_index() -> None:
    op.execute("DROP TABLE IF EXISTS registry_search")
