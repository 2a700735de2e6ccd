"""The bulletin board's chain and the re-vote rule: one counted ballot per voter whatever the kiosks did (SEC-04)."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.ballots import ballot, board, group, poll
from protocol.ballots.board import Cast

RULES = poll.yes_no_abstain("poll-b")


def code(n: int) -> str:
    return hashlib.sha256(str(n).encode()).hexdigest()


@st.composite
def schedules(draw: st.DrawFn) -> tuple[list[Cast], list[int]]:
    """Voters cast ballots at kiosks that are online or offline; each kiosk delivers its outbox in its own order
    whenever it comes back, so the hub sees the kiosks' streams interleaved in any way."""
    voters = draw(st.integers(min_value=1, max_value=6))
    kiosks = draw(st.integers(min_value=1, max_value=3))
    casts: list[tuple[int, Cast]] = []
    for n in range(draw(st.integers(min_value=1, max_value=18))):
        voter = draw(st.integers(min_value=0, max_value=voters - 1))
        kiosk = draw(st.integers(min_value=0, max_value=kiosks - 1))
        at = draw(st.integers(min_value=0, max_value=40))  # kiosk clocks: ties happen
        casts.append((kiosk, Cast(f"voter-{voter}", at, code(n))))
    outboxes = [[c for k, c in casts if k == kiosk] for kiosk in range(kiosks)]
    arrival: list[Cast] = []
    picks = draw(st.lists(st.integers(min_value=0, max_value=kiosks - 1), min_size=len(casts), max_size=len(casts)))
    for pick in picks:
        nonempty = [o for o in outboxes if o]
        arrival.append(nonempty[pick % len(nonempty)].pop(0))
    return arrival, picks


@settings(max_examples=300, deadline=None)
@given(schedules(), st.sampled_from(["latest", "first"]), st.randoms(use_true_random=False))
def test_exactly_one_ballot_counts_per_voter_whatever_the_kiosks_did(
    schedule: tuple[list[Cast], list[int]], rule: str, rnd: object
) -> None:
    """SEC-04: random schedules of offline kiosks and re-votes; at every moment of arrival and at the end exactly
    one ballot per voter counts, it is the latest (first) cast, and the arrival order does not change it."""
    arrival, _picks = schedule
    for seen in range(1, len(arrival) + 1):
        counted = board.counted_codes(arrival[:seen], rule)
        voters = {c.voter for c in arrival[:seen]}
        assert len(counted) == len(voters)
        assert {c.voter for c in arrival[:seen] if c.tracking in counted} == voters
    final = board.counted_codes(arrival, rule)
    pick = max if rule == "latest" else min
    for voter in {c.voter for c in arrival}:
        theirs = [c for c in arrival if c.voter == voter]
        assert pick(theirs, key=lambda c: (c.cast_at, c.tracking)).tracking in final
    shuffled = list(arrival)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert board.counted_codes(shuffled, rule) == final


def test_board_entries_chain_from_the_polls_genesis_and_carry_their_status() -> None:
    key = group.base_mult(group.random_scalar())
    first = ballot.cast_ballot(RULES, key, frozenset({0}))
    again = ballot.cast_ballot(RULES, key, frozenset({1}))
    e0 = board.accept(RULES.poll_id, None, first, "voter-a", 100)
    e1 = board.reject(RULES.poll_id, e0, code(1), "the voter is not on the roll")
    e2 = board.accept(RULES.poll_id, e1, again, "voter-a", 50)  # an offline kiosk's earlier ballot arrives late
    assert e0.prev == board.genesis(RULES.poll_id) != board.genesis("another poll")
    assert (e1.prev, e2.prev, e2.seq) == (e0.hash, e1.hash, 2)
    assert board.statuses([e0, e1, e2], "latest") == ["counted", "rejected", "superseded"]
    assert board.statuses([e0, e1, e2], "first") == ["superseded", "rejected", "counted"]
    published = e2.to_json("superseded")
    assert board.entry_hash({k: published[k] for k in e2.chained_json()}) == published["hash"] == e2.hash
    with pytest.raises(ValueError):
        board.reject(RULES.poll_id, e2, code(2), "")
    with pytest.raises(ValueError):
        board.counted_codes([], "random")
