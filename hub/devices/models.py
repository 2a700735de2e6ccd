"""Tables the ingest worker writes: what each device last reported, and messages it could not decode."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.db import Base, UtcDateTime


class Device(Base):
    """A kiosk that has reported in: its id (the CN of its certificate), when, and its last heartbeat."""

    __tablename__ = "devices"

    device_id: Mapped[str] = mapped_column(String(63), primary_key=True)
    last_seen: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    last_heartbeat: Mapped[str | None] = mapped_column(Text)  # canonical JSON of the last Heartbeat


class DeadLetter(Base):
    """A message the ingest could not accept, kept with the reason: nothing is lost silently (SEC-19)."""

    __tablename__ = "dead_letters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)
    topic: Mapped[str] = mapped_column(String(300))
    payload: Mapped[bytes] = mapped_column(LargeBinary)  # at most MAX_KEPT_PAYLOAD bytes of it
    payload_size: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
