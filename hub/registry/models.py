"""The registry's tables. The search index is not here: it is made by migration 0006 per database
(an FTS5 virtual table on SQLite, a tsvector table on PostgreSQL) and written by `hub.registry.search`."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub.db import Base, UtcDateTime


class CaseSeries(Base):
    """The last serial handed out for one board and year: numbers are never reused, even after weeding."""

    __tablename__ = "registry_series"

    board: Mapped[str] = mapped_column(String(8), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_serial: Mapped[int] = mapped_column(Integer)


class Case(Base):
    """An ärende: ``number`` is ``KS 2026/123`` (board, year, serial)."""

    __tablename__ = "registry_cases"
    __table_args__ = (UniqueConstraint("board", "year", "serial", name="uq_registry_cases_board_year_serial"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    board: Mapped[str] = mapped_column(String(8))
    year: Mapped[int] = mapped_column(Integer)
    serial: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16))  # open, closed
    opened_on: Mapped[dt.date] = mapped_column(Date)
    closed_on: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class StoredFile(Base):
    """A file kept once by its SHA-256 (the bytes live on disk under ``registry_files_dir``)."""

    __tablename__ = "registry_files"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    media_type: Mapped[str] = mapped_column(String(100))
    stored_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class Document(Base):
    """A handling in a case. ``title`` is shown publicly only when the document is not secret."""

    __tablename__ = "registry_documents"
    __table_args__ = (UniqueConstraint("case_id", "serial", name="uq_registry_documents_case_id_serial"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("registry_cases.id"), index=True)
    serial: Mapped[int] = mapped_column(Integer)  # KS 2026/123-4 is serial 4 of the case
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(500))
    document_date: Mapped[dt.date] = mapped_column(Date, index=True)
    registered_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    counterpart: Mapped[str | None] = mapped_column(String(300))  # sender or recipient
    file_sha256: Mapped[str | None] = mapped_column(ForeignKey("registry_files.sha256"))
    file_name: Mapped[str | None] = mapped_column(String(255))
    page_count: Mapped[int | None] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text, default="")
    secrecy: Mapped[str] = mapped_column(String(16))  # public, partial, secret
    osl_paragraph: Mapped[str | None] = mapped_column(String(100))
    personal_data: Mapped[bool] = mapped_column(Boolean, default=False)
    retention_years: Mapped[int | None] = mapped_column(Integer)  # None: keep for ever
    published_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, index=True)
    views: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class Notice(Base):
    """A notice on the notice board (anslagstavla), shown from ``posted_on`` until ``takedown_on``."""

    __tablename__ = "registry_notices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    board: Mapped[str | None] = mapped_column(String(8))
    document_id: Mapped[int | None] = mapped_column(ForeignKey("registry_documents.id"))
    posted_on: Mapped[dt.date] = mapped_column(Date, index=True)
    takedown_on: Mapped[dt.date] = mapped_column(Date, index=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class DocumentRequest(Base):
    """A request to see a document (begäran om allmän handling); anonymous unless the asker left a contact."""

    __tablename__ = "registry_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)  # what the asker is shown
    document_id: Mapped[int | None] = mapped_column(ForeignKey("registry_documents.id"), index=True)
    case_number: Mapped[str | None] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text)
    contact: Mapped[str | None] = mapped_column(String(300))
    channel: Mapped[str] = mapped_column(String(16))  # web, kiosk
    device_id: Mapped[str | None] = mapped_column(String(63))
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)
    due_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(16))  # new, handling, granted, partly, refused
    handled_by: Mapped[str | None] = mapped_column(String(200))
    handled_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    decision_note: Mapped[str | None] = mapped_column(Text)


class Weeding(Base):
    """A record of a weeded document (gallring): what it was, under which rule, who confirmed it and why."""

    __tablename__ = "registry_weedings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(Integer)  # the row is gone; the id stays for reference
    case_number: Mapped[str] = mapped_column(String(32))
    document_serial: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    document_date: Mapped[dt.date] = mapped_column(Date)
    file_sha256: Mapped[str | None] = mapped_column(String(64))
    rule: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text)
    weeded_by: Mapped[str] = mapped_column(String(200))
    weeded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class CatalogueChunk(Base):
    """One chunk of the kiosk catalogue, kept by the SHA-256 of its canonical bytes (served to kiosks)."""

    __tablename__ = "registry_catalogue_chunks"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, index=True)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class ImportProgress(Base):
    """How far an import of one source file got: rows before ``next_row`` are done (resumable)."""

    __tablename__ = "registry_imports"

    source_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    source_name: Mapped[str] = mapped_column(String(500))
    next_row: Mapped[int] = mapped_column(Integer)
    imported: Mapped[int] = mapped_column(Integer)
    rejected: Mapped[int] = mapped_column(Integer)
    finished: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
