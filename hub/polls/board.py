"""The hub's bulletin board of one poll: entries appended in arrival order, hash-chained
(`protocol.ballots.board`), the re-vote rule applied as each ballot arrives, and the running aggregate.

A voter's ballots may arrive from several kiosks in any order (SEC-04). The hub keeps, per voter, the one ballot
that counts under the poll's rule (`board.counted_codes`: latest or first cast, ties by tracking code): a newer
winner marks the old one superseded and takes its ciphertexts out of the aggregate (`tally.remove_ballot`)
before adding its own. The stored statuses and aggregate therefore always equal what `board.statuses` and
`tally.aggregate_of` recompute from the whole board — the tests check exactly that.

Appending needs the poll row locked (`get_poll(…, for_update=True)`): two ingest workers never chain onto the
same entry; the unique (poll, seq) and (poll, tracking) keys are the backstop.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.db import utcnow
from hub.polls.models import BoardRow, Poll
from protocol import codec
from protocol.ballots import board, tally
from protocol.ballots.ballot import Ballot, short_code
from protocol.ballots.board import BoardEntry, Cast
from protocol.ballots.poll import PollRules
from protocol.ballots.tally import Aggregate


def next_entry(
    poll: Poll,
    *,
    tracking: str,
    voter: str | None,
    cast_at: int | None,
    ballot: Ballot | None = None,
    reason: str | None = None,
) -> BoardEntry:
    """The entry that would follow the board's head (an accepted ballot, or a rejection with its reason)."""
    prev = poll.board_head or board.genesis(poll.id)
    return BoardEntry(poll.board_size, prev, tracking, voter, cast_at, ballot, reason)


def has_tracking(session: Session, poll_id: str, tracking: str) -> bool:
    """Whether the board already holds an entry with this tracking code."""
    query = select(BoardRow.seq).where(BoardRow.poll_id == poll_id, BoardRow.tracking == tracking)
    return session.scalar(query) is not None


def running_aggregate(poll: Poll, rules: PollRules) -> Aggregate:
    """The encrypted sum of the counted ballots so far."""
    if poll.aggregate is None:
        return tally.empty_aggregate(rules)
    return tally.aggregate_from_json(json.loads(poll.aggregate), rules)


def _store_aggregate(poll: Poll, aggregate: Aggregate) -> None:
    poll.aggregate = json.dumps(tally.aggregate_to_json(aggregate))


def append(session: Session, poll: Poll, rules: PollRules, entry: BoardEntry, *, device_id: str) -> str:
    """Put ``entry`` (from `next_entry`, the poll row locked) on the board; its status after the re-vote rule."""
    status = board.REJECTED
    if entry.accepted:
        assert entry.ballot is not None and entry.voter is not None and entry.cast_at is not None
        status = _apply_revote(session, poll, rules, entry)
    return store_entry(session, poll, entry, status, device_id=device_id)


class ChainedEntry(Protocol):
    """What a board row is made of: a secret poll's `BoardEntry` or a named poll's entry."""

    @property
    def seq(self) -> int: ...
    @property
    def tracking(self) -> str: ...
    @property
    def hash(self) -> str: ...
    @property
    def voter(self) -> str | None: ...
    @property
    def cast_at(self) -> int | None: ...
    @property
    def reason(self) -> str | None: ...
    def chained_json(self) -> dict[str, Any]: ...


def store_entry(session: Session, poll: Poll, entry: ChainedEntry, status: str, *, device_id: str) -> str:
    """Add the board row of ``entry`` with its ``status`` and move the poll's board head to it; the status."""
    session.add(
        BoardRow(
            poll_id=poll.id,
            seq=entry.seq,
            tracking=entry.tracking,
            code=short_code(entry.tracking).replace("-", ""),
            hash=entry.hash,
            voter=entry.voter,
            cast_at=entry.cast_at,
            status=status,
            reason=entry.reason,
            entry=codec.encode(entry.chained_json()).decode("utf-8"),
            device_id=device_id,
            received_at=utcnow(),
        )
    )
    poll.board_head, poll.board_size = entry.hash, entry.seq + 1
    session.flush()
    return status


def _apply_revote(session: Session, poll: Poll, rules: PollRules, entry: BoardEntry) -> str:
    assert entry.ballot is not None and entry.voter is not None and entry.cast_at is not None
    current = session.scalars(
        select(BoardRow).where(
            BoardRow.poll_id == poll.id, BoardRow.voter == entry.voter, BoardRow.status == board.COUNTED
        )
    ).first()
    aggregate = running_aggregate(poll, rules)
    if current is not None:
        casts = [
            Cast(entry.voter, entry.cast_at, entry.tracking),
            Cast(entry.voter, current.cast_at or 0, current.tracking),
        ]
        if board.counted_codes(casts, rules.revote) != {entry.tracking}:
            return board.SUPERSEDED
        current.status = board.SUPERSEDED
        aggregate = tally.remove_ballot(aggregate, _ballot_of(current, rules))
        poll.counted -= 1
    _store_aggregate(poll, tally.add_ballot(aggregate, entry.ballot))
    poll.counted += 1
    return board.COUNTED


def _ballot_of(row: BoardRow, rules: PollRules) -> Ballot:
    return Ballot.from_json(json.loads(row.entry)["ballot"], rules)


def board_rows(session: Session, poll_id: str) -> list[BoardRow]:
    """The poll's board rows in board order."""
    return list(session.scalars(select(BoardRow).where(BoardRow.poll_id == poll_id).order_by(BoardRow.seq)))


def entries(session: Session, poll_id: str, rules: PollRules) -> list[BoardEntry]:
    """The poll's board as `BoardEntry`s, in order (for the closed board and the record)."""
    result = []
    for row in board_rows(session, poll_id):
        data = json.loads(row.entry)
        ballot = None if data["ballot"] is None else Ballot.from_json(data["ballot"], rules)
        result.append(
            BoardEntry(
                data["seq"], data["prev"], data["tracking"], data["voter"], data["cast_at"], ballot, data["reason"]
            )
        )
    return result


def voted(session: Session, poll_id: str) -> frozenset[str]:
    """The pseudonyms with an accepted ballot on the board (the ``voted`` part of the roll set)."""
    query = select(BoardRow.voter).where(
        BoardRow.poll_id == poll_id, BoardRow.status != board.REJECTED, BoardRow.voter.is_not(None)
    )
    return frozenset(v for v in session.scalars(query) if v is not None)


def find_code(session: Session, poll_id: str, code: str) -> BoardRow | None:
    """The entry whose tracking code is ``code`` or starts with it (the receipt's short code, without its
    grouping), for the public board page's ``?kod=`` look-up; None when there is none or more than one."""
    wanted = code.replace("-", "").replace(" ", "").strip()
    column = BoardRow.tracking if len(wanted) == 64 else BoardRow.code
    wanted = wanted.lower() if len(wanted) == 64 else wanted.upper()
    found = list(session.scalars(select(BoardRow).where(BoardRow.poll_id == poll_id, column == wanted).limit(2)))
    return found[0] if len(found) == 1 else None
