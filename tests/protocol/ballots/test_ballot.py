"""The inner ballot: valid for every allowed choice in every method, refused otherwise, and its tracking code is
the hash of exactly its bytes (SEC-08)."""

from __future__ import annotations

import hashlib
import itertools

import pytest

from protocol import codec
from protocol.ballots import ballot, elgamal, group, poll, proofs
from protocol.ballots.ballot import Ballot, BallotError, OptionCiphertext
from protocol.ballots.poll import PollError, PollRules

OPTIONS = ("a", "b", "c", "d", "e")
RULES = [
    poll.single_choice("single", ("a", "b", "c")),
    poll.yes_no_abstain("yna"),
    poll.approval("approve-any", OPTIONS, 0, 5),
    poll.approval("approve-1-3", OPTIONS, 1, 3),
]


@pytest.fixture(scope="module")
def secret() -> group.Scalar:
    return group.random_scalar()


def decrypt(secret: group.Scalar, ciphertext: elgamal.Ciphertext) -> int:
    """Only a test holds a whole private key: m·G = b − x·a."""
    point = group.sub(ciphertext.b, group.mult(secret, ciphertext.a))
    return next(m for m in range(10) if group.small_multiple(m) == point)


@pytest.mark.parametrize("rules", RULES, ids=lambda r: r.poll_id)
def test_every_allowed_choice_gives_a_valid_ballot_and_every_other_is_refused(
    rules: PollRules, secret: group.Scalar
) -> None:
    key = group.base_mult(secret)
    n = len(rules.options)
    for size in range(n + 1):
        for chosen in itertools.combinations(range(n), size):
            selected = frozenset(chosen)
            if not rules.allows(selected):
                with pytest.raises(ValueError):
                    ballot.cast_ballot(rules, key, selected)
                continue
            if size > 2 and n == 5:
                continue  # enough: the proofs do not depend on which options
            cast = ballot.cast_ballot(rules, key, selected)
            assert ballot.ballot_problem(rules, key, cast) is None
            assert [decrypt(secret, c) for c in cast.ciphertexts] == [int(i in selected) for i in range(n)]


def test_a_ballot_with_too_many_selections_fails_its_sum_proof(secret: group.Scalar) -> None:
    """A cheating kiosk encrypts four 1s in a 1..3 poll, proves each bit honestly and forges the sum proof."""
    rules = poll.approval("approve-1-3", OPTIONS, 1, 3)
    key = group.base_mult(secret)
    honest = ballot.cast_ballot(rules, key, frozenset({0}))
    encrypted = [elgamal.encrypt(key, int(i < 4)) for i in range(5)]
    cts = tuple(c for c, _n in encrypted)
    statement = {"poll": rules.poll_id, "ballot": [c.to_json() for c in cts]}
    options = tuple(
        OptionCiphertext(c, proofs.prove_range({**statement, "subject": f"option/{i}"}, key, c, n, int(i < 4), 0, 1))
        for i, (c, n) in enumerate(encrypted)
    )
    forged = Ballot(rules.poll_id, options, honest.selections)
    assert ballot.ballot_problem(rules, key, forged) == "the proof that 1..3 options are chosen does not hold"


def test_proofs_cannot_be_moved_to_another_ballot(secret: group.Scalar) -> None:
    """Each proof hashes every ciphertext of its ballot: copying one option into another ballot breaks it."""
    rules = RULES[2]
    key = group.base_mult(secret)
    one, two = (ballot.cast_ballot(rules, key, frozenset({i})) for i in (0, 1))
    spliced = Ballot(rules.poll_id, (two.options[0], *one.options[1:]), None)
    assert ballot.ballot_problem(rules, key, spliced) == "the proof that option 0 holds 0 or 1 does not hold"


def test_the_tracking_code_is_the_hash_of_exactly_the_stored_bytes(secret: group.Scalar) -> None:
    """SEC-08: recompute the receipt from the stored ballot bytes; they decode back to the same ballot."""
    rules = RULES[3]
    cast = ballot.cast_ballot(rules, group.base_mult(secret), frozenset({1, 2}))
    stored = cast.encoded()
    assert cast.tracking_hash == hashlib.sha256(stored).hexdigest()
    assert Ballot.from_bytes(stored, rules) == cast
    code = ballot.short_code(cast.tracking_hash)
    assert len(code) == 19 and code.count("-") == 3 and code.replace("-", "").isalnum()


def test_a_receipt_reveals_nothing_but_the_tracking_code(secret: group.Scalar) -> None:
    """SEC-06: two voters with the same choice get unrelated codes (fresh nonces), so a code says nothing."""
    rules = RULES[0]
    key = group.base_mult(secret)
    codes = {ballot.cast_ballot(rules, key, frozenset({0})).tracking_hash for _ in range(3)}
    assert len(codes) == 3


def test_a_received_ballot_is_decoded_strictly(secret: group.Scalar) -> None:
    rules = RULES[3]
    good = ballot.cast_ballot(rules, group.base_mult(secret), frozenset({0})).to_json()
    broken = [
        {**good, "poll": "another"},
        {**good, "format": "tinget/ballot/v0"},
        {**good, "options": good["options"][:4]},
        {**good, "selections": None},
        {**good, "extra": 1},
        {**good, "options": [{**good["options"][0], "a": "00" * 32}, *good["options"][1:]]},
        {**good, "options": [{**good["options"][0], "proof": []}, *good["options"][1:]]},
    ]
    for data in broken:
        with pytest.raises(BallotError):
            Ballot.from_json(data, rules)
    with pytest.raises(codec.DecodeError):
        Ballot.from_bytes(codec.encode(good).replace(b'{"a"', b'{ "a"', 1), rules)


def test_poll_rules_refuse_impossible_limits() -> None:
    for make in [
        lambda: poll.approval("p", OPTIONS, 3, 2),
        lambda: poll.approval("p", OPTIONS, 0, 6),
        lambda: poll.approval("p", OPTIONS, 0, 0),
        lambda: PollRules("p", ("a", "a"), "single", 1, 1),
        lambda: PollRules("p", ("a", "b"), "single", 1, 2),
        lambda: PollRules("p", ("no", "yes", "abstain"), "yes-no-abstain", 1, 1),
        lambda: PollRules("p", ("a",), "ranked", 1, 1),
        lambda: PollRules("p", ("a",), "single", 1, 1, revote="never"),
    ]:
        with pytest.raises(PollError):
            make()
    rules = RULES[3]
    assert PollRules.from_json(rules.to_json()) == rules
