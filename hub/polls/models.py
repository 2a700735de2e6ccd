"""The polls' tables. Nothing here holds a personnummer or a voter's certificate: the roll and the board hold
per-poll pseudonyms only (SEC-14), and a ballot is kept encrypted, as the board publishes it (SEC-05)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub.db import Base, UtcDateTime

STATES = ("draft", "open", "closed", "tallied", "published")


class Poll(Base):
    """One poll, secret or named (``secret`` false: staff votes, D77, whose ``roles`` JSON names the staff roles
    that may vote, none: every member). ``options`` is JSON ``[{"name", "sv", "en"}, …]``; ``trustees`` JSON
    usernames by index (1..n);
    ``election_key`` the `ElectionKey` JSON once the ceremony completed; ``aggregate`` the running encrypted sum
    of the counted ballots (`tally.aggregate_to_json`); ``result`` JSON ``{"counts", "counted"}`` once tallied."""

    __tablename__ = "polls"

    id: Mapped[str] = mapped_column(String(63), primary_key=True)
    title_sv: Mapped[str] = mapped_column(String(300))
    title_en: Mapped[str] = mapped_column(String(300), default="")
    description_sv: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    options: Mapped[str] = mapped_column(Text)
    method: Mapped[str] = mapped_column(String(16))
    min_selections: Mapped[int] = mapped_column(Integer)
    max_selections: Mapped[int] = mapped_column(Integer)
    revote: Mapped[str] = mapped_column(String(8))
    secret: Mapped[bool] = mapped_column(Boolean, default=True)
    min_age: Mapped[int | None] = mapped_column(Integer)
    opens_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    closes_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    threshold: Mapped[int | None] = mapped_column(Integer)
    trustees: Mapped[str] = mapped_column(Text, default="[]")
    roles: Mapped[str] = mapped_column(Text, default="[]", server_default="[]")  # a named poll's voting roles
    election_key: Mapped[str | None] = mapped_column(Text)
    aggregate: Mapped[str | None] = mapped_column(Text)
    counted: Mapped[int] = mapped_column(Integer, default=0)
    board_head: Mapped[str | None] = mapped_column(String(64))
    board_size: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    opened_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class RollEntry(Base):
    """One eligible voter of one poll, as that poll's pseudonym (a keyed hash, never the number)."""

    __tablename__ = "poll_roll"

    poll_id: Mapped[str] = mapped_column(ForeignKey("polls.id"), primary_key=True)
    pseudonym: Mapped[str] = mapped_column(String(64), primary_key=True)


class CeremonyFile(Base):
    """A trustee's round file of the key generation (announce, deliver, confirm), as uploaded (canonical JSON)."""

    __tablename__ = "poll_ceremony_files"

    poll_id: Mapped[str] = mapped_column(ForeignKey("polls.id"), primary_key=True)
    round: Mapped[str] = mapped_column(String(16), primary_key=True)
    trustee: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    body: Mapped[str] = mapped_column(Text)
    uploaded_by: Mapped[str] = mapped_column(String(200))
    uploaded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class BoardRow(Base):
    """One bulletin-board entry: ``entry`` is the canonical JSON of its chained fields (`BoardEntry.chained_json`,
    for a named poll `NamedEntry.chained_json`), ``status`` counted, superseded or rejected. ``voter`` is the
    pseudonym (a named poll's: the employee id; None when it could not be read)."""

    __tablename__ = "poll_board"
    __table_args__ = (UniqueConstraint("poll_id", "tracking", name="uq_poll_board_poll_id_tracking"),)

    poll_id: Mapped[str] = mapped_column(ForeignKey("polls.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    tracking: Mapped[str] = mapped_column(String(64))
    code: Mapped[str] = mapped_column(String(16), index=True)  # the receipt's short code, without hyphens
    hash: Mapped[str] = mapped_column(String(64))
    voter: Mapped[str | None] = mapped_column(String(64), index=True)
    cast_at: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    entry: Mapped[str] = mapped_column(Text)
    device_id: Mapped[str] = mapped_column(String(63))
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class PartialRow(Base):
    """A trustee's checked partial decryption of the closed board's aggregate (the uploaded round file)."""

    __tablename__ = "poll_partials"

    poll_id: Mapped[str] = mapped_column(ForeignKey("polls.id"), primary_key=True)
    trustee: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    body: Mapped[str] = mapped_column(Text)
    uploaded_by: Mapped[str] = mapped_column(String(200))
    uploaded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class ElectionRecord(Base):
    """The published election record (`protocol.ballots.record.record_lines`), byte for byte.

    ``body`` is deferred: some 5 KB a ballot, tens of megabytes for a municipality's poll, loaded only when read
    (`counting.record_chunks` streams it a megabyte at a time; the results page needs only the hash).
    """

    __tablename__ = "poll_records"

    poll_id: Mapped[str] = mapped_column(ForeignKey("polls.id"), primary_key=True)
    body: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    sha256: Mapped[str] = mapped_column(String(64))
    published_by: Mapped[str] = mapped_column(String(200))
    published_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
