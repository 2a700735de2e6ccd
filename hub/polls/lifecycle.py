"""Opening and closing polls: draft → open → closed (then `hub.polls.counting` takes it to tallied and published).

Opening a secret poll needs the election key, the options and a non-empty roll, and a closing time still ahead;
a named poll (D77) only the closing time. Closing
before the planned time moves ``closes_at`` to now, so that a ballot cast after the close is rejected. Every
change is audited. Both change what kiosks must know: the caller then republishes the sets
(`hub.sets.service.publish_sets`; `open_and_publish` / `close_and_publish` do both).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from hub.audit import log as audit_log
from hub.db import make_session_factory, unit_of_work, utcnow
from hub.polls.drafts import PollError, get_poll, key_of, require_state, rules_of
from hub.polls.models import Poll
from hub.polls.roll import roll_size
from hub.settings import HubSettings
from protocol.ballots import tally


def open_poll(session: Session, poll_id: str, *, actor: str, now: dt.datetime | None = None) -> Poll:
    """Open a draft for ballots (audited); `PollError` naming what is missing."""
    now = now or utcnow()
    poll = get_poll(session, poll_id, for_update=True)
    require_state(poll, "draft", "opened")
    rules = rules_of(poll)
    voters: int | None = None  # a named poll's voters are the staff list's members (D77): no roll, no key
    if poll.secret:
        key = key_of(poll)
        if key.ceremony.poll_id != poll_id:
            raise PollError("the election key belongs to another poll")
        voters = roll_size(session, poll_id)
        if voters == 0:
            raise PollError(f"poll {poll_id} has an empty roll: import the voters first")
    if poll.closes_at <= now:
        raise PollError(f"poll {poll_id}'s closing time has passed: change the schedule first")
    poll.state, poll.opened_at, poll.updated_at = "open", now, now
    poll.aggregate, poll.counted = None, 0
    tally.empty_aggregate(rules)  # the rules hold (checked above); the running aggregate starts empty
    audit_log.record(
        session,
        actor=actor,
        action="poll.opened",
        subject=poll_id,
        details={
            "voters": voters,
            "named": not poll.secret,
            "opens_at": poll.opens_at.isoformat(),
            "closes_at": poll.closes_at.isoformat(),
        },
        now=now,
    )
    return poll


def close_poll(session: Session, poll_id: str, *, actor: str, now: dt.datetime | None = None) -> Poll:
    """Close an open poll (audited). Before its planned time, the closing time becomes now."""
    now = now or utcnow()
    poll = get_poll(session, poll_id, for_update=True)
    require_state(poll, "open", "closed")
    early = now < poll.closes_at
    if early:
        poll.closes_at = now
    poll.state, poll.closed_at, poll.updated_at = "closed", now, now
    audit_log.record(
        session,
        actor=actor,
        action="poll.closed",
        subject=poll_id,
        details={"early": early, "board_entries": poll.board_size, "counted": poll.counted},
        now=now,
    )
    return poll


def close_due(session: Session, *, actor: str, now: dt.datetime | None = None) -> list[str]:
    """Close every open poll whose closing time has come; their ids (the timer's job)."""
    now = now or utcnow()
    due = list(session.scalars(select(Poll.id).where(Poll.state == "open", Poll.closes_at <= now).order_by(Poll.id)))
    for poll_id in due:
        close_poll(session, poll_id, actor=actor, now=now)
    return due


def open_and_publish(settings: HubSettings, engine: Engine, poll_id: str, *, actor: str, announce: bool = True) -> Poll:
    """`open_poll` in its own transaction, then the sets republished so kiosks take ballots."""
    from hub.sets.service import publish_sets

    with unit_of_work(make_session_factory(engine)) as session:
        poll = open_poll(session, poll_id, actor=actor)
    publish_sets(settings, engine, actor=actor, announce=announce)
    return poll


def close_and_publish(
    settings: HubSettings, engine: Engine, poll_ids: list[str] | None, *, actor: str, announce: bool = True
) -> list[str]:
    """Close the named polls (None: every poll that is due) in one transaction, then republish the sets.

    With None (the timer, every minute) the sets are republished also while polls stay open: the roll set's
    "voted" lists then reach the kiosks within a minute of each ballot (only changed sets get a new version)."""
    from hub.sets.service import publish_sets

    with unit_of_work(make_session_factory(engine)) as session:
        if poll_ids is None:
            closed = close_due(session, actor=actor)
        else:
            closed = [close_poll(session, poll_id, actor=actor).id for poll_id in poll_ids]
        still_open = session.scalar(select(Poll.id).where(Poll.state == "open").limit(1)) is not None
    if closed or (poll_ids is None and still_open):
        publish_sets(settings, engine, actor=actor, announce=announce)
    return closed
