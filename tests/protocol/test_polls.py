"""The polls and roll sets: what kiosks learn of polls, round trips and strict decoding (SEC-12, SEC-19)."""

from __future__ import annotations

import pytest

from protocol.ballots import group
from protocol.ballots.keygen import Ceremony
from protocol.ballots.poll import approval
from protocol.identity import parse_personnummer
from protocol.polls import (
    NamedPollNotice,
    PollNotice,
    PollRoll,
    PollSetError,
    PollsSet,
    roll_from_json,
    roll_key_for,
    roll_to_json,
    voter_pseudonym,
)
from tests.support.elections import run_keygen

SECRET = b"hub secret key of thirty-two byte"


@pytest.fixture(scope="module")
def notice() -> PollNotice:
    key, _shares = run_keygen(Ceremony("budget-2027", 2, ("anna", "bo", "cy")), group.random_scalar)
    return PollNotice(
        rules=approval("budget-2027", ("park", "school", "road"), 1, 2),
        key=key,
        title={"sv": "Budget 2027", "en": "Budget 2027"},
        description={"sv": "Vad ska vi satsa på?", "en": "What should we invest in?"},
        opens_at=1_800_000_000_000,
        closes_at=1_800_600_000_000,
        roll_key=roll_key_for(SECRET, "budget-2027"),
        min_age=16,
        board_url="https://tinget.example/omrostningar/budget-2027/anslagstavla",
        option_labels={"sv": ("Parken", "Skolan", "Vägen"), "en": ("The park", "The school", "The road")},
    )


def test_a_polls_set_round_trips(notice: PollNotice) -> None:
    polls = PollsSet(bytes(range(32)), (notice,))
    again = PollsSet.from_json(polls.to_json())
    assert again.find("budget-2027").to_json() == notice.to_json()
    assert again.find("budget-2027").labels("en") == ("The park", "The school", "The road")
    assert again.find("budget-2027").labels("se") == ("Parken", "Skolan", "Vägen")
    assert again.find("nothing") is None


def test_a_poll_is_open_only_within_its_schedule(notice: PollNotice) -> None:
    assert not notice.is_open(notice.opens_at - 1)
    assert notice.is_open(notice.opens_at) and notice.is_open(notice.closes_at - 1)
    assert not notice.is_open(notice.closes_at)


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d.pop("rules"),
        lambda d: d.update(opens_at=d["closes_at"]),
        lambda d: d.update(min_age=-1),
        lambda d: d.update(roll_key="00"),
        lambda d: d["title"].pop("sv"),
        lambda d: d["options"].update(sv=["one"]),
        lambda d: d.update(extra=1),
        lambda d: d["key"].update(public_key="00" * 32),
    ],
)
def test_a_malformed_poll_is_refused_with_a_reason(notice: PollNotice, damage) -> None:
    """SEC-19: every field is checked; the election key is re-verified from its transcript."""
    document = notice.to_json()
    damage(document)
    with pytest.raises(PollSetError):
        PollNotice.from_json(document)


def test_pseudonyms_are_per_poll_and_keyed() -> None:
    """SEC-14: the same person is another pseudonym in another poll; without the hub's secret, nobody can make one."""
    anna = parse_personnummer("19850412-2386")
    first = voter_pseudonym(roll_key_for(SECRET, "budget-2027"), anna, "budget-2027")
    second = voter_pseudonym(roll_key_for(SECRET, "park-2027"), anna, "park-2027")
    assert first != second and len(first) == 64
    assert (
        voter_pseudonym(roll_key_for(b"another hub's secret, 32 bytes!!", "budget-2027"), anna, "budget-2027") != first
    )
    assert "850412" not in first


def test_a_roll_round_trips_and_refuses_what_is_not_a_pseudonym() -> None:
    rolls = {"budget-2027": PollRoll(frozenset({"a" * 64, "b" * 64}), frozenset({"a" * 64}))}
    assert roll_from_json(roll_to_json(rolls)) == rolls
    with pytest.raises(PollSetError):
        roll_from_json({"polls": {"budget-2027": {"eligible": ["198504122386"], "voted": []}}})
    with pytest.raises(PollSetError):
        roll_from_json({"polls": {"budget-2027": {"eligible": []}}})


NAMED = NamedPollNotice(
    rules=approval("personalfest", ("lunch", "middag"), 1, 1),
    title={"sv": "Personalfest"},
    description={"sv": "Vad vill vi göra?"},
    opens_at=1_800_000_000_000,
    closes_at=1_800_600_000_000,
    roles=("staff", "registrar"),
    board_url="https://tinget.example/val/personalfest",
    option_labels={"sv": ("Lunch", "Middag")},
)


def test_named_polls_ride_in_the_polls_set_only_when_there_are_some(notice: PollNotice) -> None:
    """A set without named polls keeps its old bytes (no "named" field); one with them round trips."""
    assert "named" not in PollsSet(bytes(range(32)), (notice,)).to_json()
    again = PollsSet.from_json(PollsSet(bytes(range(32)), (notice,), (NAMED,)).to_json())
    assert again.find_named("personalfest") == NAMED and again.find("personalfest") is None
    assert NAMED.allows_roles(("staff",)) and not NAMED.allows_roles(("it",)) and not NAMED.allows_roles(())
    assert NamedPollNotice.from_json({**NAMED.to_json(), "roles": []}).allows_roles(("it",))


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d.pop("roles"),
        lambda d: d.update(roles=[""]),
        lambda d: d.update(opens_at=d["closes_at"]),
        lambda d: d["title"].pop("sv"),
        lambda d: d.update(key={}),
    ],
)
def test_a_malformed_named_poll_is_refused(damage) -> None:
    document = NAMED.to_json()
    damage(document)
    with pytest.raises(PollSetError):
        NamedPollNotice.from_json(document)
