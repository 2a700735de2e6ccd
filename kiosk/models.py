"""The kiosk's tables. The schema is built by the Alembic migrations in `kiosk/migrations/`."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, Index, Integer, LargeBinary, String, Text, text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Stores an aware datetime as naive UTC (SQLite has no time zones) and gives it back aware, in UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; the kiosk stores UTC only")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    """Declarative base of every kiosk table."""


class KioskMeta(Base):
    """Facts about this kiosk's database as key/value text: the device it belongs to, its schema revision."""

    __tablename__ = "kiosk_meta"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class OutboxMessage(Base):
    """A message stored in the transaction of the action it reports, kept until the hub acknowledges it."""

    __tablename__ = "outbox"

    # A time-ordered message id (UUIDv7), so ORDER BY id is first in, first out.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    body: Mapped[bytes] = mapped_column(LargeBinary)  # canonical JSON from protocol.codec, sent as is
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))

    __table_args__ = (
        # Only undelivered rows are ever scanned in order; the index stays as small as the backlog.
        Index("ix_outbox_pending", "id", sqlite_where=text("delivered_at IS NULL")),
        # Delivered rows are kept a week for inspection, then pruned oldest first in small batches.
        Index("ix_outbox_delivered", "delivered_at", sqlite_where=text("delivered_at IS NOT NULL")),
    )


class OutboxDepth(Base):
    """One row: how many outbox messages await the hub's ack, kept by triggers (migration 0002).

    Counting a partial index of 100,000 rows takes milliseconds, and every enqueue and every page's "outbox
    full" check needs the figure; the triggers keep it exact in the same transaction as the change.
    """

    __tablename__ = "outbox_depth"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # always 1
    pending: Mapped[int] = mapped_column(Integer)


class ExecutedCommand(Base):
    """A hub command this kiosk has carried out: a resent command with the same id is not run again."""

    __tablename__ = "executed_commands"

    command_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(32))
    executed_at: Mapped[datetime] = mapped_column(UTCDateTime())
