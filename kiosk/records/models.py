"""The kiosk's records tables (migration 0004); the FTS5 index ``catalogue_search`` has no model."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kiosk.models import Base, UTCDateTime


class ChunkRow(Base):
    """A catalogue chunk the kiosk holds: its number and the SHA-256 it had."""

    __tablename__ = "catalogue_chunks"

    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    sha256: Mapped[str] = mapped_column(String(64))
    count: Mapped[int] = mapped_column(Integer)
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DocumentRow(Base):
    """A public document as the catalogue describes it (nothing secret is ever here)."""

    __tablename__ = "catalogue_documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    chunk: Mapped[int] = mapped_column(Integer, index=True)
    number: Mapped[str] = mapped_column(String(40))
    case_number: Mapped[str] = mapped_column(String(32))
    case_title: Mapped[str] = mapped_column(Text)
    board: Mapped[str] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(Text)
    doc_date: Mapped[str] = mapped_column(String(10))
    counterpart: Mapped[str | None] = mapped_column(Text)
    secrecy: Mapped[str] = mapped_column(String(16))
    osl: Mapped[str | None] = mapped_column(String(100))
    file_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    media_type: Mapped[str | None] = mapped_column(String(100))
    file_size: Mapped[int | None] = mapped_column(Integer)
    pages: Mapped[int | None] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)


class CachedFile(Base):
    """A file the kiosk holds or wants, with how often and how lately it was viewed (for the cache's order)."""

    __tablename__ = "file_cache"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int | None] = mapped_column(Integer)
    present: Mapped[bool] = mapped_column(Boolean, default=False)
    wanted: Mapped[bool] = mapped_column(Boolean, default=False)  # someone asked for it while it was missing
    views: Mapped[int] = mapped_column(Integer, default=0)
    last_viewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
