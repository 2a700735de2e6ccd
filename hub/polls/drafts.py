"""Creating and editing a poll while it is a draft, and reading polls back.

Everything that decides the result (options, method, limits, re-vote rule, age limit, schedule, roll, trustees)
can change only while the poll is a draft; after opening, `edit_poll` refuses with `PollError`. A named poll
(``secret=False``: a staff vote, signed, plain and public by name, D77) has no roll, trustees, key or age limit;
its voters are the members on the staff list, only those with one of ``roles`` when it names any.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.audit import log as audit_log
from hub.db import utcnow
from hub.polls.models import Poll
from hub.staff.roles import parse_roles
from protocol.ballots.keygen import ElectionKey
from protocol.ballots.poll import YES_NO_ABSTAIN, PollRules
from protocol.ballots.poll import PollError as RulesError
from protocol.polls import POLL_ID


class PollError(Exception):
    """A poll action the rules refuse; the message is for the election officer (no personal data)."""


@dataclass(frozen=True, slots=True)
class PollOption:
    """One option: its stable name (in the ballot and the record) and its labels in Swedish and English."""

    name: str
    sv: str
    en: str = ""


@dataclass(frozen=True, slots=True)
class PollSpec:
    """What an election officer decides about a poll. ``opens_at``/``closes_at`` are aware datetimes; the
    description is Markdown. A ``yes-no-abstain`` poll may give no options (yes, no, abstain are used)."""

    title_sv: str
    opens_at: dt.datetime
    closes_at: dt.datetime
    options: tuple[PollOption, ...] = ()
    method: str = "single"
    min_selections: int = 1
    max_selections: int = 1
    revote: str = "latest"
    min_age: int | None = None
    title_en: str = ""
    description_sv: str = ""
    description_en: str = ""
    secret: bool = True
    roles: tuple[str, ...] = ()  # a named poll: the staff roles that may vote (none: every member with a card)


YES_NO_ABSTAIN_LABELS = (
    PollOption("yes", "Ja", "Yes"),
    PollOption("no", "Nej", "No"),
    PollOption("abstain", "Avstår", "Abstain"),
)


def _checked(poll_id: str, spec: PollSpec) -> tuple[PollSpec, PollRules]:
    if spec.secret and spec.roles:
        raise PollError("only a named poll has voting roles: a secret poll's voters are its roll")
    if not spec.secret:
        if spec.min_age is not None:
            raise PollError("a named poll has no age limit: its voters are staff")
        try:
            roles = parse_roles(spec.roles)
        except ValueError as exc:
            raise PollError(str(exc)) from None
        spec = dataclasses.replace(spec, roles=tuple(sorted(role.value for role in roles)))
    if not spec.title_sv.strip():
        raise PollError("a poll needs a Swedish title")
    if spec.opens_at.tzinfo is None or spec.closes_at.tzinfo is None:
        raise PollError("opening and closing times need a time zone")
    if spec.opens_at >= spec.closes_at:
        raise PollError("a poll must open before it closes")
    if spec.min_age is not None and not 0 <= spec.min_age <= 130:
        raise PollError("the age limit is a whole number of years between 0 and 130")
    if spec.method == "yes-no-abstain" and not spec.options:
        spec = dataclasses.replace(spec, options=YES_NO_ABSTAIN_LABELS)
    if spec.method != "approval":
        spec = dataclasses.replace(spec, min_selections=1, max_selections=1)
    if any(not o.sv.strip() for o in spec.options):
        raise PollError("every option needs a Swedish label")
    try:
        rules = PollRules(
            poll_id,
            tuple(o.name for o in spec.options),
            spec.method,
            spec.min_selections,
            spec.max_selections,
            spec.revote,
        )
    except RulesError as exc:
        raise PollError(str(exc)) from None
    if spec.method == "yes-no-abstain" and rules.options != YES_NO_ABSTAIN:
        raise PollError("a yes-no-abstain poll has the options yes, no, abstain")
    return spec, rules


def _apply(poll: Poll, spec: PollSpec) -> None:
    poll.title_sv, poll.title_en = spec.title_sv.strip(), spec.title_en.strip()
    poll.description_sv, poll.description_en = spec.description_sv, spec.description_en
    poll.options = json.dumps([dataclasses.asdict(o) for o in spec.options], ensure_ascii=False)
    poll.method, poll.revote, poll.secret, poll.min_age = spec.method, spec.revote, spec.secret, spec.min_age
    poll.roles = json.dumps(list(spec.roles))
    poll.min_selections, poll.max_selections = spec.min_selections, spec.max_selections
    poll.opens_at, poll.closes_at = spec.opens_at, spec.closes_at


def create_poll(session: Session, poll_id: str, spec: PollSpec, *, actor: str) -> Poll:
    """A new draft poll (audited); `PollError` for an id in use or rules that do not hold."""
    if POLL_ID.fullmatch(poll_id) is None:
        raise PollError("a poll id is 2–63 lower-case letters, digits and hyphens, starting with a letter or digit")
    if session.get(Poll, poll_id) is not None:
        raise PollError(f"there is already a poll {poll_id}")
    spec, _rules = _checked(poll_id, spec)
    now = utcnow()
    poll = Poll(id=poll_id, state="draft", created_by=actor, created_at=now, updated_at=now, trustees="[]")
    poll.counted, poll.board_size = 0, 0
    _apply(poll, spec)
    session.add(poll)
    session.flush()
    audit_log.record(session, actor=actor, action="poll.created", subject=poll_id, details=_summary(poll))
    return poll


def edit_poll(session: Session, poll_id: str, spec: PollSpec, *, actor: str) -> Poll:
    """Replace a draft's texts, options, rules and schedule (audited); refused once the poll has opened."""
    poll = get_poll(session, poll_id)
    require_state(poll, "draft", "edited")
    if spec.secret != poll.secret:
        # A secret draft may already have a roll and trustees, which a named poll must not carry (and back).
        raise PollError(f"poll {poll_id} stays {'secret' if poll.secret else 'named'}: create a new poll instead")
    spec, _rules = _checked(poll_id, spec)
    _apply(poll, spec)
    poll.updated_at = utcnow()
    audit_log.record(session, actor=actor, action="poll.edited", subject=poll_id, details=_summary(poll))
    return poll


def _summary(poll: Poll) -> dict[str, Any]:
    return {
        "named": not poll.secret,
        "roles": roles_of(poll),
        "method": poll.method,
        "options": len(options_of(poll)),
        "revote": poll.revote,
        "opens_at": poll.opens_at.isoformat(),
        "closes_at": poll.closes_at.isoformat(),
        "min_age": poll.min_age,
    }


def require_state(poll: Poll, state: str | tuple[str, ...], doing: str) -> None:
    """`PollError` unless the poll is in ``state`` (one of them)."""
    allowed = (state,) if isinstance(state, str) else state
    if poll.state not in allowed:
        raise PollError(f"poll {poll.id} is {poll.state}: it cannot be {doing} (only when {' or '.join(allowed)})")


def find_poll(session: Session, poll_id: str) -> Poll | None:
    """The poll, or None."""
    return session.get(Poll, poll_id)


def get_poll(session: Session, poll_id: str, *, for_update: bool = False) -> Poll:
    """The poll (locked for this transaction with ``for_update``); `PollError` when there is none."""
    poll = session.get(Poll, poll_id, with_for_update=for_update)
    if poll is None:
        raise PollError(f"there is no poll {poll_id}")
    return poll


def list_polls(session: Session, state: str | None = None) -> list[Poll]:
    """Every poll (or those in ``state``), soonest closing first."""
    query = select(Poll).order_by(Poll.closes_at, Poll.id)
    if state is not None:
        query = query.where(Poll.state == state)
    return list(session.scalars(query))


def options_of(poll: Poll) -> tuple[PollOption, ...]:
    """The poll's options with their labels."""
    return tuple(PollOption(**item) for item in json.loads(poll.options))


def drafts_labels(poll: Poll) -> dict[str, tuple[str, ...]]:
    """The options' labels by language (English only when every option has one)."""
    options = options_of(poll)
    labels = {"sv": tuple(o.sv for o in options)}
    if all(o.en for o in options):
        labels["en"] = tuple(o.en for o in options)
    return labels


def rules_of(poll: Poll) -> PollRules:
    """The poll's `PollRules` (what ballots, the tally and the verifier depend on)."""
    return PollRules(
        poll.id,
        tuple(o.name for o in options_of(poll)),
        poll.method,
        poll.min_selections,
        poll.max_selections,
        poll.revote,
    )


def roles_of(poll: Poll) -> list[str]:
    """A named poll's voting roles (empty: every member on the staff list; a secret poll has none)."""
    return list(json.loads(poll.roles or "[]"))


def require_secret(poll: Poll, doing: str) -> None:
    """`PollError` for a named poll, which has no roll, trustees, key or decryption."""
    if not poll.secret:
        raise PollError(
            f"poll {poll.id} is a named poll: it cannot be {doing} (its voters are staff, its ballots plain)"
        )


def trustees_of(poll: Poll) -> tuple[str, ...]:
    """The trustees' usernames; trustee i is element i - 1."""
    return tuple(json.loads(poll.trustees))


def key_of(poll: Poll) -> ElectionKey:
    """The poll's election key; `PollError` before the key ceremony has completed."""
    if poll.election_key is None:
        raise PollError(f"poll {poll.id} has no election key yet: the trustees' key ceremony has not completed")
    return _key_from_text(poll.election_key)


@functools.lru_cache(maxsize=64)
def _key_from_text(text: str) -> ElectionKey:
    """Decoding re-checks every proof of the ceremony: done once per key and process, not once per ballot."""
    return ElectionKey.from_json(json.loads(text))


def ms(at: dt.datetime) -> int:
    """Unix milliseconds of an aware datetime (the unit of the wire formats)."""
    return int(at.timestamp() * 1000)
