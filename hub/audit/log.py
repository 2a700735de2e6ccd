"""Writing, reading, checking and exporting the audit log through a SQLAlchemy session.

Appends are serialised so that two writers never chain onto the same entry: PostgreSQL takes a
transaction-level advisory lock; SQLite writers already hold the database's write lock (`hub.db.unit_of_work`
begins IMMEDIATE). The primary key on ``seq`` is the backstop should either ever be bypassed.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from hub.audit.chain import (
    GENESIS,
    ChainReport,
    Entry,
    clean_details,
    clean_text,
    details_text,
    parse_time,
    read_details,
    seal,
    verify_entries,
)
from hub.audit.models import AuditEntryRow
from hub.db import utcnow
from protocol.codec import CodecError

AUDIT_LOCK_KEY = 0x71_6E_67_65_74_01  # PostgreSQL advisory lock id for "append to the audit log"
READ_BATCH = 1000


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    subject: str = "",
    details: Mapping[str, Any] | None = None,
    now: dt.datetime | None = None,
) -> Entry:
    """Append one entry in the caller's transaction; it is kept only if that transaction commits."""
    cleaned = clean_details(details)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_LOCK_KEY})
    last = session.execute(
        select(AuditEntryRow.seq, AuditEntryRow.hash).order_by(AuditEntryRow.seq.desc()).limit(1)
    ).first()
    seq, prev_hash = (last.seq + 1, last.hash) if last else (1, GENESIS)
    at = (now or utcnow()).astimezone(dt.UTC)
    entry = seal(
        seq=seq,
        at=at,
        actor=clean_text(actor),
        action=action,
        subject=clean_text(subject),
        details=cleaned,
        prev_hash=prev_hash,
    )
    session.add(
        AuditEntryRow(
            seq=entry.seq,
            at=entry.at,
            actor=entry.actor,
            action=entry.action,
            subject=entry.subject,
            details=details_text(entry.details),
            prev_hash=entry.prev_hash,
            hash=entry.hash,
        )
    )
    session.flush()
    return entry


def _entry(row: Any) -> Entry | tuple[int, str]:
    try:
        details = read_details(row.details)
    except CodecError as exc:
        return (row.seq, f"its details are not canonical JSON ({exc})")
    return Entry(row.seq, row.at, row.actor, row.action, row.subject, details, row.prev_hash, row.hash)


def _stored_rows(session: Session) -> Iterator[Any]:
    # Plain rows, not ORM objects: a long chain never fills the caller's identity map.
    columns = AuditEntryRow.__table__.c
    after = 0
    while True:
        rows = session.execute(select(*columns).where(columns.seq > after).order_by(columns.seq).limit(READ_BATCH))
        batch = rows.all()
        if not batch:
            return
        yield from batch
        after = batch[-1].seq


def stored_entries(session: Session) -> Iterator[Entry | tuple[int, str]]:
    """Every entry in order, read in batches (an unreadable one comes as ``(seq, reason)``)."""
    for row in _stored_rows(session):
        yield _entry(row)


def verify_chain(session: Session) -> ChainReport:
    """Recompute the whole chain; the report names the first entry that does not hold."""
    return verify_entries(stored_entries(session))


def count_entries(session: Session) -> int:
    """How many entries the log holds."""
    return session.scalar(select(func.count()).select_from(AuditEntryRow)) or 0


def latest_entries(session: Session, *, page: int, per_page: int) -> list[Entry]:
    """One page of the log, newest first (page 1 is the newest)."""
    columns = AuditEntryRow.__table__.c
    rows = session.execute(
        select(*columns).order_by(columns.seq.desc()).offset((max(page, 1) - 1) * per_page).limit(per_page)
    ).all()
    out: list[Entry] = []
    for row in rows:
        item = _entry(row)
        if isinstance(item, tuple):  # shown as stored; the chain check names it
            item = Entry(row.seq, row.at, row.actor, row.action, row.subject, {}, row.prev_hash, row.hash)
        out.append(item)
    return out


def export_lines(session: Session) -> Iterator[str]:
    """The log as JSON lines, one canonical JSON entry per line, for archiving and independent checking.

    An entry whose stored details are not canonical JSON is exported with ``details_raw`` instead of
    ``details``, so the export fails verification at the same entry as the database does.
    """
    for row in _stored_rows(session):
        item = _entry(row)
        if isinstance(item, tuple):
            record = Entry(row.seq, row.at, row.actor, row.action, row.subject, {}, row.prev_hash, row.hash)
            raw = record.as_record()
            del raw["details"]
            raw["details_raw"] = row.details
            yield json.dumps(raw, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        else:
            yield details_text(item.as_record())


def read_export(lines: Iterable[str]) -> Iterator[Entry | tuple[int, str]]:
    """Parse an export back into entries; a line that cannot be read comes as ``(line number, reason)``."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            yield Entry(
                int(record["seq"]),
                parse_time(record["at"]),
                str(record["actor"]),
                str(record["action"]),
                str(record["subject"]),
                dict(record["details"]),
                str(record["prev_hash"]),
                str(record["hash"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            yield (number, f"line {number} is not an audit entry ({exc.__class__.__name__})")


def verify_export(lines: Iterable[str]) -> ChainReport:
    """Check an exported log exactly as `verify_chain` checks the database."""
    return verify_entries(read_export(lines))
