"""The independent verifier behind `tinget verify FILE` (SEC-09): from the election record alone it re-checks the
key generation, the board's hash chain, every ballot's tracking code and proofs, the re-vote rule's statuses, the
homomorphic aggregate, the trustees' decryption proofs and the published counts, and names the first thing that
does not hold. Ballot proofs may be checked in several processes (``jobs``); the answer does not change.
"""

from __future__ import annotations

import concurrent.futures
import re
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from protocol import codec
from protocol.ballots import board, group, tally
from protocol.ballots.ballot import Ballot, BallotError, ballot_problem, short_code
from protocol.ballots.board import Cast
from protocol.ballots.elgamal import Ciphertext
from protocol.ballots.group import Point
from protocol.ballots.keygen import ElectionKey, KeygenError
from protocol.ballots.poll import PollError, PollRules
from protocol.ballots.record import MAX_LINE_SIZE, RECORD_FORMAT
from protocol.ballots.tally import PartialDecryption, TallyError

CHUNK = 128
"""Entries checked together in one task."""
_ENTRY_KEYS = {"type", "seq", "prev", "tracking", "voter", "cast_at", "ballot", "reason", "hash", "status"}
_TALLY_KEYS = {"type", "head", "entries", "aggregate", "partials", "result"}
_HASH = re.compile(r"[0-9a-f]{64}")


class RecordProblem(Exception):
    """Something in the record does not hold; the message names it (the first one found)."""


@dataclass(frozen=True, slots=True)
class Verified:
    """What a record that holds says, and the checks that were made."""

    poll_id: str
    options: tuple[str, ...]
    counts: tuple[int, ...]
    counted: int
    entries: int
    head: str
    checks: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Fact:
    seq: object
    prev: object
    hash: str
    tracking: str
    voter: str | None
    cast_at: int | None
    status: str


def decode_line(line: bytes, where: str) -> dict[str, Any]:
    """One record line as a JSON object, refused (`RecordProblem` naming ``where``) unless canonical."""
    raw = line.rstrip(b"\n")
    try:
        data = codec.decode(raw, max_size=MAX_LINE_SIZE, canonical=False)  # validates every value
    except codec.DecodeError as exc:
        raise RecordProblem(f"{where} is not a canonical JSON line: {exc}") from None
    if codec.encode_valid(data) != raw:  # the canonical check `decode` would make, without a second walk
        raise RecordProblem(f"{where} is not a canonical JSON line: keys sorted, no spaces, minimal escapes")
    if not isinstance(data, dict):
        raise RecordProblem(f"{where} is not a JSON object")
    return data


def _entry_problem(
    data: dict[str, Any], rules: PollRules, key: Point
) -> tuple[_Fact | None, str | None, Ballot | None]:
    if set(data) != _ENTRY_KEYS or data["type"] != "entry":
        return None, "is not a board entry with exactly the fields " + ", ".join(sorted(_ENTRY_KEYS)), None
    chained = {k: data[k] for k in ("seq", "prev", "tracking", "voter", "cast_at", "ballot", "reason")}
    if board.entry_hash(chained, decoded=True) != data["hash"]:
        return None, "has a hash that does not match its contents", None
    tracking, status, reason = data["tracking"], data["status"], data["reason"]
    if not isinstance(tracking, str) or not _HASH.fullmatch(tracking) or status not in board.STATUSES:
        return None, "has no valid tracking code or status", None
    if not (data["voter"] is None or isinstance(data["voter"], str)) or not (
        data["cast_at"] is None or (isinstance(data["cast_at"], int) and not isinstance(data["cast_at"], bool))
    ):
        return None, "has a voter that is not text or a cast time that is not an integer", None
    fact = _Fact(data["seq"], data["prev"], data["hash"], tracking, data["voter"], data["cast_at"], status)
    if reason is not None:
        if not isinstance(reason, str) or status != board.REJECTED or data["ballot"] is not None:
            return fact, "is a rejection without a reason, with a ballot, or not marked rejected", None
        return fact, None, None
    if status == board.REJECTED:
        return fact, "is marked rejected but gives no reason", None
    if not isinstance(data["voter"], str) or not isinstance(data["cast_at"], int) or isinstance(data["cast_at"], bool):
        return fact, "is an accepted ballot without a voter pseudonym or a cast time", None
    try:
        ballot = Ballot.from_json(data["ballot"], rules)
    except BallotError as exc:
        return fact, f"holds a malformed ballot: {exc}", None
    if ballot.tracking_hash != tracking:
        return fact, "has a tracking code that is not the hash of its ballot", None
    problem = ballot_problem(rules, key, ballot)
    if problem:
        return fact, f"holds a ballot in which {problem}", None
    return fact, None, ballot


def _check_chunk(
    lines: list[bytes], first: int, rules_json: dict[str, Any], key_hex: str
) -> tuple[list[_Fact], tuple[int, str] | None, list[tuple[bytes, bytes]]]:
    """Check a run of entry lines: their facts, the first problem (position, message) and the counted sum."""
    rules = PollRules.from_json(rules_json)
    key = group.point_from_hex(key_hex)
    facts: list[_Fact] = []
    counted: list[Ballot] = []
    for offset, line in enumerate(lines):
        try:
            data = decode_line(line, "")
        except RecordProblem as exc:
            return facts, (first + offset, str(exc).strip()), []
        fact, problem, ballot = _entry_problem(data, rules, key)
        if problem:
            return facts, (first + offset, problem), []
        assert fact is not None
        facts.append(fact)
        if ballot is not None and fact.status == board.COUNTED:
            counted.append(ballot)
    total = tally.aggregate_of(rules, counted)
    return facts, None, [(c.a, c.b) for c in total]


def _chunks(lines: Iterator[bytes]) -> Iterator[tuple[list[bytes], bytes | None]]:
    """Runs of entry lines; the last run comes with the line that ended them (the tally line, or None)."""
    run: list[bytes] = []
    for line in lines:
        if line.rstrip(b"\n").endswith(b'"type":"tally"}'):  # canonical keys are sorted: "type" ends a tally line
            yield run, line
            return
        run.append(line)
        if len(run) == CHUNK:
            yield run, b""
            run = []
    yield run, None


class _Checker:
    def __init__(self, rules: PollRules, key: ElectionKey) -> None:
        self.rules, self.key = rules, key
        self.prev = board.genesis(rules.poll_id)
        self.seq = 0
        self.casts: list[Cast] = []
        self.published: dict[str, str] = {}
        self.aggregate = tally.empty_aggregate(rules)
        self.counted = 0

    def take(self, first: int, result: tuple[list[_Fact], tuple[int, str] | None, list[tuple[bytes, bytes]]]) -> None:
        facts, problem, total = result
        for fact in facts:
            where = f"board entry {self.seq} ({short_code(fact.tracking)})"
            if fact.seq != self.seq:
                raise RecordProblem(f"{where} has number {fact.seq}: entries are missing, repeated or out of order")
            if fact.prev != self.prev:
                raise RecordProblem(f"{where} does not chain to the entry before it")
            if fact.status != board.REJECTED:
                if fact.tracking in self.published:
                    raise RecordProblem(f"{where} repeats a ballot already accepted on the board")
                self.published[fact.tracking] = fact.status
                assert fact.voter is not None and fact.cast_at is not None
                self.casts.append(Cast(fact.voter, fact.cast_at, fact.tracking))
            self.prev, self.seq = fact.hash, self.seq + 1
        if problem:
            raise RecordProblem(f"board entry {problem[0]} {problem[1]}")
        if total:
            chunk = tuple(Ciphertext(Point(a), Point(b)) for a, b in total)
            self.aggregate = tuple(x + y for x, y in zip(self.aggregate, chunk, strict=True))


@dataclass(frozen=True, slots=True)
class ClosedBoard:
    """A verified board without its tally: what a trustee checks before it decrypts the aggregate."""

    rules: PollRules
    key: ElectionKey
    aggregate: tally.Aggregate
    head: str
    entries: int
    counted: int
    checks: tuple[str, ...]


def _read_board(stream: Iterator[bytes], jobs: int) -> tuple[_Checker, bytes | None, list[str]]:
    header = decode_line(next(stream, b""), "the first line")
    expected_keys = {"type", "format", "poll", "keygen"}
    if header.get("type") != "election" or header.get("format") != RECORD_FORMAT or set(header) != expected_keys:
        raise RecordProblem(f"the first line is not a {RECORD_FORMAT} election header")
    try:
        rules = PollRules.from_json(header["poll"])
        key = ElectionKey.from_json(header["keygen"])
    except (PollError, KeygenError) as exc:
        raise RecordProblem(f"the election header does not hold: {exc}") from None
    if key.ceremony.poll_id != rules.poll_id:
        raise RecordProblem("the key generation was for another poll")
    checks = [
        f"key generation: {len(key.ceremony.trustees)} trustees, threshold {key.ceremony.threshold}; "
        "every proof holds and the election key is the sum of their commitments"
    ]
    checker = _Checker(rules, key)
    args = (rules.to_json(), group.to_hex(key.public_key))
    ending = _check_entries(checker, _chunks(stream), args, jobs)
    checks.append(
        f"board: {checker.seq} entries chain from the poll's genesis; "
        "every tracking code is its ballot's hash; every ballot's proofs hold"
    )
    counted = board.counted_codes(checker.casts, rules.revote)
    for tracking, status in checker.published.items():
        expected = board.COUNTED if tracking in counted else board.SUPERSEDED
        if status != expected:
            raise RecordProblem(
                f"ballot {short_code(tracking)} is marked {status}, "
                f"but the {rules.revote}-counts rule makes it {expected}"
            )
    checker.counted = len(counted)
    checks.append(
        f"re-vote rule ({rules.revote} counts): {len(counted)} counted, one per voter; "
        f"{len(checker.casts) - len(counted)} superseded"
    )
    return checker, ending, checks


def verify_board(lines: Iterable[bytes], jobs: int = 1) -> ClosedBoard:
    """Verify a closed board (a record's election and entry lines, no tally line) and compute its aggregate."""
    stream = iter(lines)
    checker, ending, checks = _read_board(stream, jobs)
    if ending is not None:
        raise RecordProblem("this is a full record with a tally, not a closed board")
    return ClosedBoard(
        checker.rules, checker.key, checker.aggregate, checker.prev, checker.seq, checker.counted, tuple(checks)
    )


def verify_lines(lines: Iterable[bytes], jobs: int = 1, expected_head: str | None = None) -> Verified:
    """Verify a record given as its lines; raises `RecordProblem` naming the first thing that does not hold."""
    stream = iter(lines)
    checker, tally_raw, checks = _read_board(stream, jobs)
    if tally_raw is None:
        raise RecordProblem("the record ends without a tally line")
    if next(stream, None) is not None:
        raise RecordProblem("there are lines after the tally line")
    return _check_tally(checker, decode_line(tally_raw, "the tally line"), checks, expected_head)


def _check_entries(
    checker: _Checker, chunks: Iterator[tuple[list[bytes], bytes | None]], args: tuple[dict[str, Any], str], jobs: int
) -> bytes | None:
    position = 0
    ending: bytes | None = None
    if jobs <= 1:
        for run, end in chunks:
            checker.take(position, _check_chunk(run, position, *args))
            position += len(run)
            ending = end or None
        return ending
    with concurrent.futures.ProcessPoolExecutor(max_workers=jobs) as pool:
        pending: deque[tuple[int, concurrent.futures.Future[Any]]] = deque()
        for run, end in chunks:
            pending.append((position, pool.submit(_check_chunk, run, position, *args)))
            position += len(run)
            ending = end or None
            while len(pending) > 2 * jobs:
                first, future = pending.popleft()
                checker.take(first, future.result())
        while pending:
            first, future = pending.popleft()
            checker.take(first, future.result())
    return ending


def _check_tally(checker: _Checker, data: dict[str, Any], checks: list[str], expected_head: str | None) -> Verified:
    rules, key = checker.rules, checker.key
    if set(data) != _TALLY_KEYS or data["type"] != "tally":
        raise RecordProblem("the tally line does not have exactly the fields " + ", ".join(sorted(_TALLY_KEYS)))
    if data["head"] != checker.prev or data["entries"] != checker.seq:
        raise RecordProblem("the published head or number of entries is not the board's last hash and length")
    if expected_head is not None and expected_head != checker.prev:
        raise RecordProblem(
            "the board's head is not the one you expected: the board was changed after it was published"
        )
    try:
        aggregate = tally.aggregate_from_json(data["aggregate"], rules)
    except (TallyError, ValueError) as exc:
        raise RecordProblem(f"the published aggregate is malformed: {exc}") from None
    if aggregate != checker.aggregate:
        raise RecordProblem("the published aggregate is not the sum of the counted ballots")
    checks.append("aggregate: the homomorphic sum of the counted ballots")
    if checker.counted == 0:
        # D66: a sum of no ballots hides nothing; it is published undecrypted, and any partial is an error.
        if data["partials"] != [] or not tally.is_empty(aggregate):
            raise RecordProblem(
                "no ballot counts on the board, so the aggregate must be empty and no partial decryption published"
            )
        partials: list[PartialDecryption] = []
        checks.append("decryption: no ballot counts, so nothing is decrypted (the aggregate is the identity)")
    else:
        partials = _partials(data["partials"], rules, key, aggregate)
        checks.append(
            f"decryption: {len(partials)} trustees' partial decryptions, "
            "every proof holds against their verification keys"
        )
    result = data["result"]
    if not isinstance(result, dict) or set(result) != {"counts", "counted"} or result["counted"] != checker.counted:
        raise RecordProblem("the published number of counted ballots is not the number counted on the board")
    counts = result["counts"]
    if (
        not isinstance(counts, list)
        or len(counts) != len(rules.options)
        or not all(type(c) is int and 0 <= c <= checker.counted for c in counts)
    ):
        raise RecordProblem("the published counts are not one number per option between 0 and the ballots counted")
    points = tally.count_points(aggregate, partials) if partials else [group.IDENTITY for _ in counts]
    for option, (count, point) in enumerate(zip(counts, points, strict=True)):
        if group.small_multiple(count) != point:
            raise RecordProblem(
                f"the published count for option {option} ({rules.options[option]}) is not what the trustees decrypted"
            )
    checks.append("result: every published count is what the aggregate decrypts to")
    return Verified(
        rules.poll_id, rules.options, tuple(counts), checker.counted, checker.seq, checker.prev, tuple(checks)
    )


def _partials(data: object, rules: PollRules, key: ElectionKey, aggregate: tally.Aggregate) -> list[PartialDecryption]:
    if not isinstance(data, list):
        raise RecordProblem("the partial decryptions are not a list")
    partials: list[PartialDecryption] = []
    for item in data:
        try:
            partial = PartialDecryption.from_json(item, rules)
        except TallyError as exc:
            raise RecordProblem(f"a partial decryption is malformed: {exc}") from None
        if any(p.index == partial.index for p in partials):
            raise RecordProblem(f"trustee {partial.index}'s partial decryption appears twice")
        if all(c.a == group.IDENTITY for c in aggregate):
            raise RecordProblem("the aggregate is empty but partial decryptions are published")
        problem = tally.partial_problem(rules, key, aggregate, partial)
        if problem:
            raise RecordProblem(problem)
        partials.append(partial)
    if len(partials) < key.ceremony.threshold:
        raise RecordProblem(f"only {len(partials)} partial decryptions; the threshold is {key.ceremony.threshold}")
    return partials


def verify_file(path: Path, jobs: int = 1, expected_head: str | None = None) -> Verified:
    """Verify the record in the file at ``path`` (streamed, line by line): a secret poll's election record,
    or a named poll's record (`protocol.ballots.named_verify`), told apart by the first line's format."""
    from protocol.ballots import named_verify  # it imports this module

    with path.open("rb") as stream:
        if named_verify.is_named_record(stream.readline(MAX_LINE_SIZE + 1)):
            stream.seek(0)
            return named_verify.verify_named_lines(stream, expected_head)
        stream.seek(0)
        return verify_lines(stream, jobs, expected_head)


def find_codes(path: Path, codes: Iterable[str]) -> dict[str, str | None]:
    """Each tracking code (short ``ABCD-EFGH-…`` or the full hash) and its status on the record's board, or None."""
    wanted = {code: code.strip().upper().replace(" ", "") for code in codes}
    found: dict[str, str | None] = dict.fromkeys(wanted)
    if not wanted:
        return found
    with path.open("rb") as stream:
        for line in stream:
            data = decode_line(line, "a record line")
            if data.get("type") != "entry" or not isinstance(data.get("tracking"), str):
                continue
            full, short = data["tracking"], short_code(data["tracking"])
            for code, norm in wanted.items():
                if norm in (full.upper(), short):
                    found[code] = data["status"]
    return found
