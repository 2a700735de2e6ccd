"""What anyone may see of the polls, read-only: the public list, a poll's board by pages, a tracking code's entry,
and the published results. Drafts are never public; counts only once published (SEC-06), and no entry shows its
voter's pseudonym (it is in the record for the verifier, not on the page). A named poll's board is public by name
(`named_board.named_rows`: choices only once it has closed, D78); its results carry ``named`` and no roll.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.polls.counting import head_of, result_of
from hub.polls.drafts import find_poll, options_of, roles_of
from hub.polls.models import BoardRow, ElectionRecord, PartialRow, Poll
from hub.polls.named_board import NamedRow, named_rows
from hub.polls.roll import roll_size
from protocol.ballots.ballot import short_code

PUBLIC_STATES = ("open", "closed", "tallied", "published")
PER_PAGE = 50


@dataclass(frozen=True, slots=True)
class PublicEntry:
    """One board entry as the public board shows it."""

    seq: int
    code: str  # the receipt's short code, grouped as on the receipt
    status: str
    reason: str | None


def public_polls(session: Session) -> list[Poll]:
    """The polls residents may see (not drafts), open ones first, then the latest closing first."""
    polls = list(session.scalars(select(Poll).where(Poll.state.in_(PUBLIC_STATES))))
    return sorted(polls, key=lambda p: (p.state != "open", -p.closes_at.timestamp(), p.id))


def find_public_poll(session: Session, poll_id: str) -> Poll | None:
    """The poll when it is public, else None."""
    poll = find_poll(session, poll_id)
    return poll if poll is not None and poll.state in PUBLIC_STATES else None


def _public(row: BoardRow) -> PublicEntry:
    return PublicEntry(row.seq, short_code(row.tracking), row.status, row.reason)


def board_page(session: Session, poll_id: str, page: int) -> tuple[list[PublicEntry], int]:
    """One page of the board (newest first) and the number of pages."""
    total = int(session.scalar(select(func.count()).where(BoardRow.poll_id == poll_id)) or 0)
    pages = max(1, -(-total // PER_PAGE))
    query = (
        select(BoardRow)
        .where(BoardRow.poll_id == poll_id)
        .order_by(BoardRow.seq.desc())
        .offset((min(max(page, 1), pages) - 1) * PER_PAGE)
        .limit(PER_PAGE)
    )
    return [_public(row) for row in session.scalars(query)], pages


def find_entry(session: Session, poll_id: str, code: str) -> PublicEntry | None:
    """The entry of a receipt's tracking code (`hub.polls.board.find_code`), or None."""
    from hub.polls.board import find_code

    row = find_code(session, poll_id, code)
    return None if row is None else _public(row)


def find_named_row(session: Session, poll_id: str, code: str, language: str) -> NamedRow | None:
    """A named board's line for a tracking code (`hub.polls.board.find_code`), or None."""
    from hub.polls.board import find_code

    row = find_code(session, poll_id, code)
    if row is None:
        return None
    return next((line for line in named_rows(session, poll_id, language) if line.seq == row.seq), None)


def published_result(session: Session, poll: Poll) -> dict[str, Any] | None:
    """A published poll's result for the web and open data; None before publication."""
    result = result_of(poll)
    record = session.get(ElectionRecord, poll.id)
    if poll.state != "published" or result is None or record is None:
        return None
    voters = roll_size(session, poll.id) if poll.secret else None  # a named poll has no roll (D77)
    return {
        "poll_id": poll.id,
        "named": not poll.secret,
        "roles": roles_of(poll),
        "title": {"sv": poll.title_sv, "en": poll.title_en or None},
        "method": poll.method,
        "options": [
            {"name": o.name, "label": {"sv": o.sv, "en": o.en or None}, "votes": votes}
            for o, votes in zip(options_of(poll), result.counts, strict=True)
        ],
        "counted": result.counted,
        "voters": voters,
        "turnout": None if voters is None else round(result.counted / voters, 4) if voters else 0.0,
        "opened_at": _iso(poll.opened_at),
        "closed_at": _iso(poll.closed_at),
        "published_at": _iso(record.published_at),
        "board_head": head_of(poll),
        "record_sha256": record.sha256,
    }


def _iso(at: dt.datetime | None) -> str | None:
    return None if at is None else at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def published_results(session: Session) -> list[dict[str, Any]]:
    """Every published poll's result, the latest closed first."""
    found = (published_result(session, p) for p in public_polls(session) if p.state == "published")
    return [r for r in found if r is not None]


def partial_trustees(session: Session, poll_id: str) -> list[int]:
    """The trustee numbers whose partial decryption is in (what a trustee's page shows; no content)."""
    query = select(PartialRow.trustee).where(PartialRow.poll_id == poll_id).order_by(PartialRow.trustee)
    return list(session.scalars(query))
