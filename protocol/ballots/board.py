"""The public bulletin board: every ballot the hub received, in the order it arrived, hash-chained, and the
re-vote rule that decides which of a voter's ballots counts (SEC-04).

An entry records the facts of receipt, which never change: its number, the previous entry's hash, the tracking
code, the voter's per-poll pseudonym and the kiosk's cast time, and either the ballot or the reason it was
rejected. A ballot's status, counted or superseded, follows from all accepted entries by the poll's re-vote rule
(`counted_codes`), a pure function of the set, so it does not depend on which kiosk delivered first. The head
(the last entry's hash) is what gets published.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from protocol import codec
from protocol.ballots.ballot import Ballot

ENTRY_DOMAIN = "tinget/board/v1/entry"
GENESIS_DOMAIN = "tinget/board/v1/genesis"
COUNTED, SUPERSEDED, REJECTED = "counted", "superseded", "rejected"
STATUSES = (COUNTED, SUPERSEDED, REJECTED)


def genesis(poll_id: str) -> str:
    """The ``prev`` of a poll's first entry: a hash bound to the poll, so boards cannot be spliced across polls."""
    return hashlib.sha256(codec.encode({"domain": GENESIS_DOMAIN, "poll": poll_id})).hexdigest()


@dataclass(frozen=True, slots=True)
class BoardEntry:
    """One received ballot. ``ballot`` is None and ``reason`` says why when it was rejected."""

    seq: int
    prev: str
    tracking: str
    voter: str | None
    cast_at: int | None
    ballot: Ballot | None
    reason: str | None

    @property
    def accepted(self) -> bool:
        """True when the ballot was accepted into the box (it then counts or is superseded)."""
        return self.reason is None

    def chained_json(self) -> dict[str, Any]:
        """The fields the entry's hash covers."""
        return {
            "seq": self.seq,
            "prev": self.prev,
            "tracking": self.tracking,
            "voter": self.voter,
            "cast_at": self.cast_at,
            "ballot": None if self.ballot is None else self.ballot.to_json(),
            "reason": self.reason,
        }

    @property
    def hash(self) -> str:
        """SHA-256 of the canonical ``{"domain": ENTRY_DOMAIN, …chained fields}``."""
        return entry_hash(self.chained_json())

    def to_json(self, status: str) -> dict[str, Any]:
        """The published form: the chained fields, the hash and the status."""
        return {**self.chained_json(), "hash": self.hash, "status": status}


def entry_hash(chained: dict[str, Any], *, decoded: bool = False) -> str:
    """The hash of an entry's chained fields. ``decoded=True`` when they come from `codec.decode` (the verifier
    on a published line): they are known canonical, and the validation walk is skipped."""
    content = {"domain": ENTRY_DOMAIN, **chained}
    return hashlib.sha256(codec.encode_valid(content) if decoded else codec.encode(content)).hexdigest()


def accept(poll_id: str, previous: BoardEntry | None, ballot: Ballot, voter: str, cast_at: int) -> BoardEntry:
    """The next entry for a ballot whose envelope and proofs the hub has checked."""
    return BoardEntry(_next_seq(previous), _prev(poll_id, previous), ballot.tracking_hash, voter, cast_at, ballot, None)


def reject(
    poll_id: str,
    previous: BoardEntry | None,
    tracking: str,
    reason: str,
    voter: str | None = None,
    cast_at: int | None = None,
) -> BoardEntry:
    """The next entry for a ballot the hub refused; ``tracking`` is the hash of the bytes it received."""
    if not reason:
        raise ValueError("a rejected ballot needs a reason")
    return BoardEntry(_next_seq(previous), _prev(poll_id, previous), tracking, voter, cast_at, None, reason)


def _next_seq(previous: BoardEntry | None) -> int:
    return 0 if previous is None else previous.seq + 1


def _prev(poll_id: str, previous: BoardEntry | None) -> str:
    return genesis(poll_id) if previous is None else previous.hash


@dataclass(frozen=True, slots=True, order=True)
class Cast:
    """An accepted ballot as the re-vote rule sees it."""

    voter: str
    cast_at: int
    tracking: str


def counted_codes(casts: Iterable[Cast], rule: str) -> frozenset[str]:
    """The tracking codes that count: exactly one per voter, the latest (or, for ``first``, the earliest) by cast
    time, ties broken by the tracking code. A pure function of the set: arrival order does not matter (SEC-04).
    """
    if rule not in ("latest", "first"):
        raise ValueError(f"unknown re-vote rule {rule!r}")
    chosen: dict[str, Cast] = {}
    for cast in casts:
        best = chosen.get(cast.voter)
        key, best_key = (cast.cast_at, cast.tracking), None if best is None else (best.cast_at, best.tracking)
        if best_key is None or (key > best_key if rule == "latest" else key < best_key):
            chosen[cast.voter] = cast
    return frozenset(c.tracking for c in chosen.values())


def statuses(entries: list[BoardEntry], rule: str) -> list[str]:
    """Each entry's status under the poll's re-vote rule."""
    counted = counted_codes((Cast(e.voter or "", e.cast_at or 0, e.tracking) for e in entries if e.accepted), rule)
    return [REJECTED if not e.accepted else COUNTED if e.tracking in counted else SUPERSEDED for e in entries]
