"""Which polls a signed-in resident may vote in at this kiosk, right now, offline.

From the kiosk's copies of the ``polls`` and ``roll`` sets (`protocol.polls`) and its own record of the ballots
cast here: the resident's pseudonym in each poll (a keyed hash of the personnummer, computed in memory and never
stored apart from the envelope's), whether it is on the roll, the age limit at today's date, the schedule, and
whether a ballot from this person is already known ("you have voted here before": a new one replaces it under
the latest-counts rule; under first-counts the first stays).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from protocol.eid import CardHolder
from protocol.polls import PollNotice, PollRoll, PollsSet, voter_pseudonym


class Standing(enum.StrEnum):
    """What the resident may do in one poll."""

    MAY_VOTE = "may-vote"
    MAY_VOTE_AGAIN = "may-vote-again"  # voted before; a new ballot replaces it (latest counts)
    ALREADY_VOTED = "already-voted"  # voted before and the first ballot counts: nothing to do
    NOT_ON_ROLL = "not-on-roll"
    TOO_YOUNG = "too-young"
    NOT_OPEN = "not-open"  # before opening or after closing


@dataclass(frozen=True)
class PollForVoter:
    """One poll as it stands for the signed-in resident."""

    notice: PollNotice
    standing: Standing
    pseudonym: str

    @property
    def may_cast(self) -> bool:
        return self.standing in (Standing.MAY_VOTE, Standing.MAY_VOTE_AGAIN)


def standing(
    notice: PollNotice,
    holder: CardHolder,
    roll: PollRoll | None,
    cast_here: Collection[str],
    now: dt.datetime,
) -> PollForVoter:
    """How ``holder`` stands in one poll (``cast_here``: pseudonyms that cast a ballot at this kiosk)."""
    assert holder.personnummer is not None  # residents only: the caller shows staff no polls
    pseudonym = voter_pseudonym(notice.roll_key, holder.personnummer, notice.poll_id)
    at_ms = int(now.timestamp() * 1000)
    if not notice.is_open(at_ms):
        return PollForVoter(notice, Standing.NOT_OPEN, pseudonym)
    if roll is None or pseudonym not in roll.eligible:
        return PollForVoter(notice, Standing.NOT_ON_ROLL, pseudonym)
    if notice.min_age is not None and holder.personnummer.age_on(now.date()) < notice.min_age:
        return PollForVoter(notice, Standing.TOO_YOUNG, pseudonym)
    voted = pseudonym in roll.voted or pseudonym in cast_here
    if not voted:
        return PollForVoter(notice, Standing.MAY_VOTE, pseudonym)
    again = Standing.MAY_VOTE_AGAIN if notice.rules.revote == "latest" else Standing.ALREADY_VOTED
    return PollForVoter(notice, again, pseudonym)


def polls_for(
    polls: PollsSet | None,
    rolls: Mapping[str, PollRoll],
    holder: CardHolder,
    cast_here: Mapping[str, Collection[str]],
    now: dt.datetime,
) -> list[PollForVoter]:
    """Every poll the kiosk knows of, with the resident's standing in each, open ones first."""
    if polls is None or holder.personnummer is None:
        return []
    found = [
        standing(notice, holder, rolls.get(notice.poll_id), cast_here.get(notice.poll_id, ()), now)
        for notice in polls.polls
    ]
    return sorted(found, key=lambda poll: (poll.standing is Standing.NOT_OPEN, poll.notice.closes_at))
