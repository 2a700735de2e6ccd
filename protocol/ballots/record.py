"""The election record: the one file anyone downloads to check a poll (`tinget verify FILE`).

It is JSON Lines: each line is one canonical JSON object (protocol.codec) followed by ``\\n``, so a verifier
reads a million ballots one line at a time. In order: one ``election`` line (the poll's rules and the whole
key-generation transcript), one ``entry`` line per bulletin-board entry in board order (with its hash and
status), and one ``tally`` line (the board's head, the aggregate, the trustees' partial decryptions and the
published result). docs/verification.md, "Election record", gives every field.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from protocol import codec
from protocol.ballots import board, tally
from protocol.ballots.board import BoardEntry
from protocol.ballots.keygen import ElectionKey
from protocol.ballots.poll import PollRules
from protocol.ballots.tally import Aggregate, PartialDecryption

RECORD_FORMAT = "tinget/election-record/v1"
MAX_LINE_SIZE = 1024 * 1024
"""No line of a record may be longer (a 64-option ballot is about 17 KB)."""


@dataclass(frozen=True, slots=True)
class Result:
    """The published outcome: votes per option (in option order) and how many ballots counted."""

    counts: tuple[int, ...]
    counted: int

    def to_json(self) -> dict[str, Any]:
        """The wire form."""
        return {"counts": list(self.counts), "counted": self.counted}


def header_line(rules: PollRules, key: ElectionKey) -> dict[str, Any]:
    """The first line."""
    return {"type": "election", "format": RECORD_FORMAT, "poll": rules.to_json(), "keygen": key.to_json()}


def entry_line(entry: BoardEntry, status: str) -> dict[str, Any]:
    """One board entry's line."""
    return {"type": "entry", **entry.to_json(status)}


def tally_line(
    head: str, entries: int, aggregate: Aggregate, partials: list[PartialDecryption], result: Result
) -> dict[str, Any]:
    """The last line: ``head`` is the last entry's hash (the genesis hash of an empty board)."""
    return {
        "type": "tally",
        "head": head,
        "entries": entries,
        "aggregate": tally.aggregate_to_json(aggregate),
        "partials": [p.to_json() for p in partials],
        "result": result.to_json(),
    }


def tally_result(
    rules: PollRules, key: ElectionKey, entries: list[BoardEntry], partials: list[PartialDecryption]
) -> tuple[Aggregate, Result]:
    """The aggregate of the counted ballots and the result decrypted from ``partials`` (raises `TallyError`)."""
    states = board.statuses(entries, rules.revote)
    counted = [e.ballot for e, s in zip(entries, states, strict=True) if s == board.COUNTED and e.ballot is not None]
    aggregate = tally.aggregate_of(rules, counted)
    counts = tally.combine(rules, key, aggregate, partials, len(counted))
    return aggregate, Result(tuple(counts), len(counted))


def record_lines(
    rules: PollRules,
    key: ElectionKey,
    entries: list[BoardEntry],
    aggregate: Aggregate,
    partials: list[PartialDecryption],
    result: Result,
) -> Iterator[bytes]:
    """The record, line by line, each line's canonical bytes with its ``\\n``: what the hub publishes."""
    yield from board_lines(rules, key, entries)
    head = entries[-1].hash if entries else board.genesis(rules.poll_id)
    yield codec.encode(tally_line(head, len(entries), aggregate, partials, result)) + b"\n"


def board_lines(rules: PollRules, key: ElectionKey, entries: list[BoardEntry]) -> Iterator[bytes]:
    """The closed board: the record without its tally line, which trustees verify before they decrypt."""
    yield codec.encode(header_line(rules, key)) + b"\n"
    for entry, status in zip(entries, board.statuses(entries, rules.revote), strict=True):
        yield codec.encode(entry_line(entry, status)) + b"\n"
