"""A named poll's board at the hub (D77): entries hash-chained as `protocol.ballots.named` defines them, the
re-vote rule by employee id as each ballot arrives, and the plain count once the poll is closed.

The board lives in the same table as a secret poll's (`BoardRow`); ``voter`` is the employee id, and the entry
JSON holds the name, the ballot, the card's certificate and signature. Counting needs no trustee: `count_named`
sums the counted ballots' choices (after recomputing every status from the whole board, as D71 does for the
aggregate). `named_rows` is what the public board page shows: name, employee id, choice and status; choices
stay hidden until the poll closes (SEC-06: no interim result).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from cryptography import x509
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.audit import log as audit_log
from hub.db import utcnow
from hub.polls.board import store_entry
from hub.polls.drafts import PollError, get_poll, options_of, require_state, roles_of, rules_of
from hub.polls.models import BoardRow, Poll
from protocol.ballots import board, named
from protocol.ballots.ballot import short_code
from protocol.ballots.named import NamedBallot, NamedEntry
from protocol.ballots.poll import PollRules

AFTER_CLOSE = ("closed", "tallied", "published")


def head_of(poll: Poll) -> str:
    """The named board's head (its genesis hash while empty)."""
    return poll.board_head or named.genesis(poll.id)


def next_seq_prev(poll: Poll) -> tuple[int, str]:
    """The number and ``prev`` of the entry that would follow the board's head (the poll row locked)."""
    return poll.board_size, head_of(poll)


def append(session: Session, poll: Poll, entry: NamedEntry, *, device_id: str) -> str:
    """Put ``entry`` on the named board; its status after the re-vote rule (by employee id)."""
    status = board.REJECTED
    if entry.accepted:
        status = _apply_revote(session, poll, entry)
    return store_entry(session, poll, entry, status, device_id=device_id)


def _apply_revote(session: Session, poll: Poll, entry: NamedEntry) -> str:
    assert entry.voter is not None and entry.cast_at is not None
    current = session.scalars(
        select(BoardRow).where(
            BoardRow.poll_id == poll.id, BoardRow.voter == entry.voter, BoardRow.status == board.COUNTED
        )
    ).first()
    if current is not None:
        casts = [
            board.Cast(entry.voter, entry.cast_at, entry.tracking),
            board.Cast(entry.voter, current.cast_at or 0, current.tracking),
        ]
        if board.counted_codes(casts, poll.revote) != {entry.tracking}:
            return board.SUPERSEDED
        current.status = board.SUPERSEDED
        poll.counted -= 1
    poll.counted += 1
    return board.COUNTED


def _rows(session: Session, poll_id: str) -> list[BoardRow]:
    return list(session.scalars(select(BoardRow).where(BoardRow.poll_id == poll_id).order_by(BoardRow.seq)))


def entries(session: Session, poll_id: str, rules: PollRules) -> list[NamedEntry]:
    """The named board as `NamedEntry`s, in order."""
    result = []
    for row in _rows(session, poll_id):
        data = json.loads(row.entry)
        ballot = None if data["ballot"] is None else NamedBallot.from_json(data["ballot"], rules)
        fields = {k: data[k] for k in ("seq", "prev", "tracking", "voter", "name", "cast_at")}
        result.append(NamedEntry(**fields, ballot=ballot, certificate=data["certificate"],
                                 signature=data["signature"], reason=data["reason"]))  # fmt: skip
    return result


@dataclass(frozen=True, slots=True)
class NamedRow:
    """One line of a named poll's public board: who (name, employee id), what (option labels; None while the
    poll is open), when, the status and, for a rejection, why."""

    seq: int
    code: str
    name: str | None
    employee_id: str | None
    chosen: tuple[str, ...] | None
    cast_at: dt.datetime | None
    status: str
    reason: str | None


def named_rows(session: Session, poll_id: str, language: str = "sv") -> list[NamedRow]:
    """The named board for its public page, in board order (choices only once the poll has closed: SEC-06)."""
    poll = get_poll(session, poll_id)
    if poll.secret:
        raise PollError(f"poll {poll_id} is secret: its board has no names")
    show = poll.state in AFTER_CLOSE
    labels = [o.en if language == "en" and o.en else o.sv for o in options_of(poll)]
    rows = []
    for row in _rows(session, poll_id):
        data = json.loads(row.entry)
        chosen = tuple(labels[i] for i in data["ballot"]["chosen"]) if show and data["ballot"] else None
        cast = None if row.cast_at is None else dt.datetime.fromtimestamp(row.cast_at / 1000, dt.UTC)
        rows.append(
            NamedRow(row.seq, short_code(row.tracking), data["name"], row.voter, chosen, cast, row.status, row.reason)
        )
    return rows


def count_named(session: Session, poll_id: str, *, actor: str) -> tuple[tuple[int, ...], int]:
    """Count a closed named poll: the plain sum of the counted ballots (audited); (counts, counted)."""
    poll = get_poll(session, poll_id, for_update=True)
    require_state(poll, "closed", "counted")
    rules = rules_of(poll)
    board_entries = entries(session, poll_id, rules)
    states = named.statuses(board_entries, rules.revote)
    if states != [row.status for row in _rows(session, poll_id)]:
        raise PollError("the stored statuses differ from the re-vote rule's: refusing to count (report this)")
    ballots = [e.ballot for e, s in zip(board_entries, states, strict=True) if s == board.COUNTED and e.ballot]
    counts = named.counts_of(rules, ballots)
    poll.result = json.dumps({"counts": list(counts), "counted": len(ballots)})
    poll.state, poll.updated_at = "tallied", utcnow()
    audit_log.record(
        session,
        actor=actor,
        action="poll.tallied",
        subject=poll_id,
        details={"counted": len(ballots), "counts": list(counts), "named": True},
    )
    return counts, len(ballots)


def record_of(session: Session, poll: Poll, issuers: list[x509.Certificate]) -> bytes:
    """The named poll's record (`named.record_lines`), with the staff card authorities the hub accepts."""
    rules = rules_of(poll)
    lines = named.record_lines(rules, tuple(roles_of(poll)), issuers, entries(session, poll.id, rules))
    return b"".join(lines)
