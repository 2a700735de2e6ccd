"""`verify`: a genuine election record holds, and every mutation of it is caught and named (SEC-09)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from protocol import codec
from protocol.ballots import board, group, poll, verify
from protocol.ballots.verify import RecordProblem
from tests.support.elections import cast_all, new_election, record_of, seeded

RULES = poll.approval("poll-v", ("park", "pool", "library", "bridge"), 1, 2)
CASTS = [
    ("voter-1", 1_000, frozenset({0})),
    ("voter-2", 1_100, frozenset({1, 2})),
    ("voter-3", 1_200, frozenset({3})),
    ("voter-1", 1_300, frozenset({2})),  # re-vote: this one counts
    ("voter-4", 900, frozenset({0, 3})),  # from a kiosk that was offline
    ("voter-5", 1_400, frozenset({1})),
]
Lines = list[dict[str, Any]]
CHAINED = ("seq", "prev", "tracking", "voter", "cast_at", "ballot", "reason")


@pytest.fixture(scope="module")
def record() -> list[bytes]:
    election = new_election(RULES, seed="verify-tests")
    rng = seeded("verify-ballots")
    return record_of(election, cast_all(election, CASTS, rng, rejected=1), (1, 3), rng)


def parse(lines: list[bytes]) -> Lines:
    return [codec.decode(line.rstrip(b"\n"), max_size=1 << 20) for line in lines]


def dump(objects: Lines) -> list[bytes]:
    return [codec.encode(o) + b"\n" for o in objects]


def rechain(objects: Lines) -> Lines:
    """What a forger does after changing the board: renumber, re-hash and re-link everything, new head."""
    objects = [dict(o) for o in objects]
    prev = board.genesis(RULES.poll_id)
    entries = [o for o in objects if o["type"] == "entry"]
    for seq, entry in enumerate(entries):
        entry["seq"], entry["prev"] = seq, prev
        entry["hash"] = prev = board.entry_hash({k: entry[k] for k in CHAINED})
    objects[-1]["head"], objects[-1]["entries"] = prev, len(entries)
    return objects


def problem_of(lines: list[bytes], **kwargs: Any) -> str:
    with pytest.raises(RecordProblem) as caught:
        verify.verify_lines(lines, **kwargs)
    return str(caught.value)


def test_a_genuine_record_holds_and_gives_the_result(record: list[bytes]) -> None:
    verified = verify.verify_lines(record)
    assert verified.counts == (1, 2, 2, 2) and verified.counted == 5 and verified.entries == 7
    assert len(verified.checks) == 6
    assert verify.verify_lines(record, jobs=2, expected_head=verified.head) == verified


def other_point() -> str:
    return group.to_hex(group.base_mult(group.random_scalar()))


def counted_entry(objects: Lines) -> dict[str, Any]:
    return next(o for o in objects if o["type"] == "entry" and o["status"] == "counted")


MUTATIONS: dict[str, tuple[Callable[[Lines], Lines], str]] = {
    "alter a ballot": (lambda o: [*o[:1], {**o[1], "ballot": {**o[1]["ballot"], "poll": "x"}}, *o[2:]], "hash"),
    "alter a ballot and re-chain": (
        lambda o: rechain(
            [
                *o[:2],
                {
                    **o[2],
                    "ballot": {
                        **o[2]["ballot"],
                        "options": [
                            {**o[2]["ballot"]["options"][0], "a": other_point()},
                            *o[2]["ballot"]["options"][1:],
                        ],
                    },
                },
                *o[3:],
            ]
        ),
        "has a tracking code that is not the hash of its ballot",
    ),
    "drop a ballot": (lambda o: [o[0], *o[2:]], "entries are missing, repeated or out of order"),
    "drop a counted ballot and re-chain": (
        lambda o: rechain([*o[:2], *o[3:]]),
        "the published aggregate is not the sum of the counted ballots",
    ),
    "duplicate a ballot": (lambda o: [*o[:3], o[2], *o[3:]], "entries are missing, repeated or out of order"),
    "duplicate a ballot and re-chain": (lambda o: rechain([*o[:3], o[2], *o[3:]]), "repeats a ballot"),
    "reorder two ballots": (lambda o: [o[0], o[2], o[1], *o[3:]], "entries are missing, repeated or out of order"),
    "change a count": (
        lambda o: [*o[:-1], {**o[-1], "result": {**o[-1]["result"], "counts": [2, 2, 2, 2]}}],
        "published count for option 0 (park)",
    ),
    "change the number counted": (
        lambda o: [*o[:-1], {**o[-1], "result": {**o[-1]["result"], "counted": 6}}],
        "number of counted ballots",
    ),
    "change a status": (
        lambda o: rechain([*o[:2], {**o[2], "status": "superseded"}, *o[3:]]),
        "is marked superseded, but the latest-counts rule makes it counted",
    ),
    "tamper a partial decryption": (
        lambda o: [
            *o[:-1],
            {
                **o[-1],
                "partials": [
                    {
                        **o[-1]["partials"][0],
                        "shares": [
                            {**o[-1]["partials"][0]["shares"][0], "share": other_point()},
                            *o[-1]["partials"][0]["shares"][1:],
                        ],
                    },
                    *o[-1]["partials"][1:],
                ],
            },
        ],
        "trustee 1's decryption proof for option 0 does not hold",
    ),
    "drop a partial decryption": (
        lambda o: [*o[:-1], {**o[-1], "partials": o[-1]["partials"][:1]}],
        "threshold is 2",
    ),
    "change the aggregate": (
        lambda o: [
            *o[:-1],
            {**o[-1], "aggregate": [{"a": other_point(), "b": other_point()}, *o[-1]["aggregate"][1:]]},
        ],
        "not the sum of the counted ballots",
    ),
    "cut the tally": (lambda o: o[:-1], "without a tally line"),
    "corrupt a tracking code and re-chain": (
        lambda o: rechain([*o[:2], {**o[2], "tracking": "zz" * 32}, *o[3:]]),
        "board entry 1 has no valid tracking code or status",
    ),
    "publish a count as true": (
        lambda o: [*o[:-1], {**o[-1], "result": {**o[-1]["result"], "counts": [True, 2, 2, 2]}}],
        "not one number per option",
    ),
    "change the head": (lambda o: [*o[:-1], {**o[-1], "head": "00" * 32}], "head"),
    "change the election key": (
        lambda o: [{**o[0], "keygen": {**o[0]["keygen"], "public_key": other_point()}}, *o[1:]],
        "election header does not hold",
    ),
}


def tamper_proof(objects: Lines) -> Lines:
    entry = counted_entry(objects)
    option = entry["ballot"]["options"][1]
    (a0, b0, c0, s0), branch = option["proof"]
    entry["ballot"]["options"][1] = {**option, "proof": [[a0, b0, s0, c0], branch]}
    from protocol.ballots.ballot import tracking_hash

    entry["tracking"] = tracking_hash(codec.encode(entry["ballot"]))
    return rechain(objects)


MUTATIONS["tamper a proof and re-chain"] = (tamper_proof, "the proof that option 1 holds 0 or 1 does not hold")


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_every_mutation_of_the_record_is_caught_and_named(record: list[bytes], name: str) -> None:
    """SEC-09: alter, drop, duplicate or reorder a ballot; change a count; tamper a proof or a partial
    decryption: the verifier fails and its message names what does not hold."""
    mutate, expected = MUTATIONS[name]
    assert expected in problem_of(dump(mutate(parse(record))))


def test_a_reordered_and_re_chained_board_is_caught_by_the_head_the_voter_saw(record: list[bytes]) -> None:
    """SEC-09: statuses do not depend on order, so a re-chained reordering is consistent in itself; the head that
    was published before (``--head``) no longer matches."""
    head = verify.verify_lines(record).head
    objects = parse(record)
    reordered = dump(rechain([objects[0], objects[2], objects[1], *objects[3:]]))
    assert verify.verify_lines(reordered).head != head
    assert "head is not the one you expected" in problem_of(reordered, expected_head=head)


def test_garbage_lines_are_named_not_crashed_on(record: list[bytes]) -> None:
    assert "first line" in problem_of([b"not json\n"])
    assert "board entry 1 is not a canonical JSON line" in problem_of([record[0], record[1], b"{ }\n", *record[3:]])
    assert "board entry 2 is not a board entry" in problem_of([*record[:3], b"{}\n", *record[3:]])
    assert "board entry 2 is not a JSON object" in problem_of([*record[:3], b"[]\n", *record[3:]])
    assert "after the tally line" in problem_of([*record, record[-1]])
