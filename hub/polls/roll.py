"""The voter roll: imported from a CSV of personnummer and kept only as the poll's pseudonyms (SEC-14).

The file has one personnummer per line (the first column; a header line and blank lines are skipped). A row
that is not a valid personnummer is reported by its line number and the reason, never by its content. The roll
can change only while the poll is a draft.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from hub.audit import log as audit_log
from hub.polls.drafts import PollError, get_poll, require_secret, require_state
from hub.polls.models import RollEntry
from protocol.identity import InvalidPersonnummer, parse_personnummer
from protocol.polls import voter_pseudonym

MAX_ROLL_BYTES = 64 * 1024 * 1024  # a whole municipality's residents in one file is about 14 MB


@dataclass(frozen=True, slots=True)
class RejectedRow:
    """A line of the import file that was not taken, and why (without the line's content)."""

    line: int
    reason: str


@dataclass(frozen=True, slots=True)
class RollReport:
    """What an import did: voters added, already on the roll, rejected lines, and the roll's size after."""

    added: int
    already: int
    rejected: tuple[RejectedRow, ...] = field(default_factory=tuple)
    total: int = 0


def import_roll(
    session: Session, poll_id: str, data: bytes, *, roll_key: bytes, actor: str, replace: bool = False
) -> RollReport:
    """Add the personnummer in the CSV ``data`` to the draft poll's roll as pseudonyms (audited, counts only).

    ``roll_key`` is the poll's pseudonym key (`hub.polls.keys.roll_key`). With ``replace`` the roll is emptied
    first. Raises `PollError` when the poll is not a draft or the file is not text."""
    poll = get_poll(session, poll_id)
    require_state(poll, "draft", "given a new roll")
    require_secret(poll, "given a roll")
    if len(data) > MAX_ROLL_BYTES:
        raise PollError(f"the roll file is larger than {MAX_ROLL_BYTES} bytes")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise PollError("the roll file is not UTF-8 text") from None
    if replace:
        session.execute(delete(RollEntry).where(RollEntry.poll_id == poll_id))
    existing = set(session.scalars(select(RollEntry.pseudonym).where(RollEntry.poll_id == poll_id)))
    new: set[str] = set()
    rejected: list[RejectedRow] = []
    already = 0
    first_line = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text), delimiter=";" if ";" in first_line else ",")  # Excel in Swedish: ";"
    try:
        rows = list(enumerate(reader, start=1))
    except csv.Error as exc:  # e.g. a line longer than the csv module's field limit: nothing is taken in
        raise PollError(f"line {reader.line_num} of the roll file cannot be read as CSV ({exc})") from None
    for line, row in rows:
        cell = row[0].strip() if row else ""
        if not cell or (line == 1 and not any(ch.isdigit() for ch in cell)):
            continue  # a blank line, or a header such as "personnummer"
        try:
            pnr = parse_personnummer(cell)
        except InvalidPersonnummer as exc:
            rejected.append(RejectedRow(line, str(exc)))
            continue
        pseudonym = voter_pseudonym(roll_key, pnr, poll_id)
        if pseudonym in existing or pseudonym in new:
            already += 1
            continue
        new.add(pseudonym)
    if new:
        session.execute(insert(RollEntry), [{"poll_id": poll_id, "pseudonym": p} for p in sorted(new)])
    total = roll_size(session, poll_id)
    audit_log.record(
        session,
        actor=actor,
        action="poll.roll_imported",
        subject=poll_id,
        details={"added": len(new), "already": already, "rejected": len(rejected), "total": total, "replace": replace},
    )
    return RollReport(len(new), already, tuple(rejected), total)


def roll_size(session: Session, poll_id: str) -> int:
    """How many voters are on the poll's roll."""
    return int(session.scalar(select(func.count()).where(RollEntry.poll_id == poll_id)) or 0)


def on_roll(session: Session, poll_id: str, pseudonym: str) -> bool:
    """Whether ``pseudonym`` may vote in the poll."""
    return session.get(RollEntry, (poll_id, pseudonym)) is not None


def roll_pseudonyms(session: Session, poll_id: str) -> frozenset[str]:
    """Every pseudonym on the poll's roll (for the ``roll`` set)."""
    return frozenset(session.scalars(select(RollEntry.pseudonym).where(RollEntry.poll_id == poll_id)))
