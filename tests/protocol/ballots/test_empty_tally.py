"""A poll in which no ballot counts (nobody voted, or every ballot was rejected) is tallied without the
trustees: all zeros, the empty aggregate, no partial decryption (D66), and `verify` checks exactly that."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from protocol import codec
from protocol.ballots import board, group, poll, record, tally, verify
from protocol.ballots.board import BoardEntry
from protocol.ballots.tally import TallyError
from protocol.ballots.verify import RecordProblem
from tests.support.elections import cast_all, new_election, record_of, seeded

RULES = poll.approval("poll-empty", ("park", "pool", "library"), 1, 2)
CHAINED = ("seq", "prev", "tracking", "voter", "cast_at", "ballot", "reason")


@pytest.fixture(scope="module")
def election() -> Any:
    return new_election(RULES, seed="empty-tests")


def parse(lines: list[bytes]) -> list[dict[str, Any]]:
    return [codec.decode(line.rstrip(b"\n"), max_size=1 << 20) for line in lines]


def dump(objects: list[dict[str, Any]]) -> list[bytes]:
    return [codec.encode(o) + b"\n" for o in objects]


def problem_of(lines: list[bytes]) -> str:
    with pytest.raises(RecordProblem) as caught:
        verify.verify_lines(lines)
    return str(caught.value)


def rejected_only(count: int) -> list[BoardEntry]:
    entries: list[BoardEntry] = []
    previous = None
    for n in range(count):
        code = hashlib.sha256(f"refused-{n}".encode()).hexdigest()
        previous = board.reject(RULES.poll_id, previous, code, "the voter is not on the roll")
        entries.append(previous)
    return entries


def test_a_poll_nobody_voted_in_has_a_record_that_verifies_as_all_zeros(election: Any) -> None:
    """SEC-09: the empty board's record holds: no entries, 0 counted, every count 0, nothing decrypted."""
    lines = record_of(election, [], (1, 3), seeded("x"))
    tally_line = parse(lines)[-1]
    assert tally_line["partials"] == [] and tally_line["result"] == {"counts": [0, 0, 0], "counted": 0}
    assert tally_line["aggregate"] == [{"a": "00" * 32, "b": "00" * 32}] * 3
    assert tally_line["head"] == board.genesis(RULES.poll_id) and tally_line["entries"] == 0
    verified = verify.verify_lines(lines)
    assert verified.counts == (0, 0, 0) and verified.counted == 0 and verified.entries == 0
    assert any("nothing is decrypted" in check for check in verified.checks)


def test_a_board_of_rejected_ballots_only_verifies_as_all_zeros(election: Any) -> None:
    verified = verify.verify_lines(record_of(election, rejected_only(2), (1, 3), seeded("x")))
    assert verified.counts == (0, 0, 0) and verified.counted == 0 and verified.entries == 2


def test_combining_no_partials_gives_zeros_only_when_no_ballot_counts(election: Any) -> None:
    empty = tally.empty_aggregate(RULES)
    assert tally.is_empty(empty)
    assert tally.combine(RULES, election.key, empty, [], 0) == [0, 0, 0]
    aggregate, result = record.tally_result(RULES, election.key, rejected_only(1), [])
    assert tally.is_empty(aggregate) and result == record.Result((0, 0, 0), 0)
    one = cast_all(election, [("voter-1", 1, frozenset({0}))], seeded("y"))
    with pytest.raises(TallyError, match="at least 2 trustees"):
        record.tally_result(RULES, election.key, one, [])


def test_a_trustee_asked_to_decrypt_an_empty_aggregate_is_told_there_is_nothing_to_decrypt(election: Any) -> None:
    with pytest.raises(TallyError, match="published without the trustees"):
        tally.decrypt_share(RULES, election.key, 1, election.shares[1], tally.empty_aggregate(RULES))


def rechain(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    prev = board.genesis(RULES.poll_id)
    entries = [o for o in objects if o["type"] == "entry"]
    for seq, entry in enumerate(entries):
        entry["seq"], entry["prev"] = seq, prev
        entry["hash"] = prev = board.entry_hash({k: entry[k] for k in CHAINED})
    objects[-1]["head"], objects[-1]["entries"] = prev, len(entries)
    return objects


def test_a_record_claiming_no_counted_ballot_while_the_board_counts_one_fails(election: Any) -> None:
    """SEC-09: a hub that publishes zeros for a board with a counted ballot is caught, whichever way it tries."""
    entries = cast_all(election, [("voter-1", 1_000, frozenset({0}))], seeded("z"))
    genuine = parse(record_of(election, entries, (1, 2), seeded("z2")))
    zeros = {"counts": [0, 0, 0], "counted": 0}
    empty = [{"a": "00" * 32, "b": "00" * 32}] * 3
    as_empty = [*genuine[:-1], {**genuine[-1], "partials": [], "aggregate": empty, "result": zeros}]
    assert "not the sum of the counted ballots" in problem_of(dump(as_empty))
    only_counts = [*genuine[:-1], {**genuine[-1], "result": zeros}]
    assert "number of counted ballots" in problem_of(dump(only_counts))
    # The ballot turned into a rejection (and the board re-chained): consistent, but the head no longer matches.
    head = verify.verify_lines(dump(genuine)).head
    rejected = {**genuine[1], "ballot": None, "reason": "hidden", "status": "rejected"}
    forged = dump(rechain([genuine[0], rejected, as_empty[-1]]))
    assert verify.verify_lines(forged).head != head


def test_a_non_zero_count_with_no_counted_ballot_fails(election: Any) -> None:
    objects = parse(record_of(election, rejected_only(1), (1, 3), seeded("x")))
    inflated = [*objects[:-1], {**objects[-1], "result": {"counts": [1, 0, 0], "counted": 0}}]
    assert "not one number per option between 0 and the ballots counted" in problem_of(dump(inflated))
    claimed = [*objects[:-1], {**objects[-1], "result": {"counts": [1, 0, 0], "counted": 1}}]
    assert "number of counted ballots" in problem_of(dump(claimed))


def test_partial_decryptions_beside_an_empty_aggregate_fail(election: Any) -> None:
    objects = parse(record_of(election, [], (1, 3), seeded("x")))
    identity = group.to_hex(group.IDENTITY)
    fake = {"trustee": 1, "shares": [{"share": identity, "proof": ["00" * 32, "00" * 32]}] * 3}
    with_partial = [*objects[:-1], {**objects[-1], "partials": [fake]}]
    assert "no partial decryption published" in problem_of(dump(with_partial))
    not_identity = [
        *objects[:-1],
        {**objects[-1], "aggregate": [{"a": identity, "b": group.to_hex(group.GENERATOR)}] * 3},
    ]
    assert "not the sum of the counted ballots" in problem_of(dump(not_identity))
