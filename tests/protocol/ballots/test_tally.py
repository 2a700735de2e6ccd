"""Counting: any k trustees decrypt the aggregate to the same counts, fewer cannot, a false share is caught,
and counts up to a million ballots come back from count·G."""

from __future__ import annotations

import pytest

from protocol.ballots import ballot, elgamal, group, poll, tally
from protocol.ballots.proofs import DecryptionProof
from protocol.ballots.tally import TallyError
from tests.support.elections import new_election

RULES = poll.approval("poll-t", ("a", "b", "c"), 0, 3)
CHOICES = [{0}, {0, 1}, {2}, {0, 2}, set()]


@pytest.fixture(scope="module")
def counted() -> tuple[object, tally.Aggregate]:
    election = new_election(RULES, threshold=2, trustees=3)
    ballots = [ballot.cast_ballot(RULES, election.key.public_key, frozenset(c)) for c in CHOICES]
    return election, tally.aggregate_of(RULES, ballots)


def test_any_k_trustees_decrypt_the_aggregate_to_the_same_counts(counted: tuple) -> None:
    election, aggregate = counted
    partials = {i: tally.decrypt_share(RULES, election.key, i, election.shares[i], aggregate) for i in (1, 2, 3)}
    for chosen in [(1, 2), (1, 3), (2, 3), (3, 1, 2)]:
        result = tally.combine(RULES, election.key, aggregate, [partials[i] for i in chosen], len(CHOICES))
        assert result == [3, 1, 2]
    with pytest.raises(TallyError, match="at least 2"):
        tally.combine(RULES, election.key, aggregate, [partials[1]], len(CHOICES))


def test_a_false_decryption_share_is_caught_and_named(counted: tuple) -> None:
    election, aggregate = counted
    honest = tally.decrypt_share(RULES, election.key, 2, election.shares[2], aggregate)
    (share, proof), *rest = honest.shares
    lying = tally.PartialDecryption(2, ((group.add(share, group.GENERATOR), proof), *rest))
    assert tally.partial_problem(RULES, election.key, aggregate, lying) == (
        "trustee 2's decryption proof for option 0 does not hold"
    )
    forged = tally.PartialDecryption(2, ((share, DecryptionProof(proof.s, proof.c)), *rest))
    assert tally.partial_problem(RULES, election.key, aggregate, forged) is not None


def test_a_trustee_cannot_decrypt_with_anothers_share(counted: tuple) -> None:
    election, aggregate = counted
    with pytest.raises(TallyError, match="does not belong"):
        tally.decrypt_share(RULES, election.key, 1, election.shares[2], aggregate)


def test_adding_then_removing_a_superseded_ballot_leaves_the_aggregate_as_it_was(counted: tuple) -> None:
    election, aggregate = counted
    extra = ballot.cast_ballot(RULES, election.key.public_key, frozenset({1}))
    assert tally.remove_ballot(tally.add_ballot(aggregate, extra), extra) == aggregate
    assert tally.aggregate_from_json(tally.aggregate_to_json(aggregate), RULES) == aggregate


@pytest.mark.parametrize("count", [0, 1, 2, 999, 1000, 1001, 123_456, 1_000_000])
def test_the_discrete_log_recovers_counts_up_to_a_million(count: int) -> None:
    assert tally.discrete_log(group.base_mult(group.scalar_from_int(count)), 1_000_000) == count


def test_a_decrypted_value_above_the_number_of_ballots_is_refused() -> None:
    with pytest.raises(TallyError):
        tally.discrete_log(group.small_multiple(11), 10)
    with pytest.raises(TallyError):
        tally.discrete_log(group.base_mult(group.random_scalar()), 100)


def test_lagrange_coefficients_interpolate_a_line_at_zero() -> None:
    # f(x) = 5 + 3x: f(1) = 8, f(3) = 14
    total = 8 * tally.lagrange_at_zero(1, [1, 3]) + 14 * tally.lagrange_at_zero(3, [1, 3])
    assert total % group.ORDER == 5
    assert elgamal.ZERO + elgamal.ZERO == elgamal.ZERO
