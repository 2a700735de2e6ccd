"""Named polls at the kiosk (staff votes, D77): which ones a signed-in staff member may vote in, and casting a
plain ballot that their card signs, offline.

The voters are the staff on the hub-signed staff list (the visitor's roles come from it at sign-in), only those
with one of the poll's roles when it names any. Casting follows `kiosk.voting.casting`: everything that can fail
(the card's signature, the device's) happens before the database is touched; then one transaction stores the
envelope as the outbox row and the kiosk's note of it (`CastBallot`, whose ``pseudonym`` is here the employee
id: a named ballot is public by name, and no personnummer is involved).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, replace

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy.orm import Session

from kiosk import outbox
from kiosk.voting.casting import DeviceSigner, Receipt, lookup_url
from kiosk.voting.models import CastBallot
from protocol.ballots.ballot import short_code
from protocol.ballots.named import NamedBallot, NamedEnvelope, card_signing_bytes, device_signing_bytes
from protocol.polls import NAMED_BALLOT_KIND, NamedPollNotice, PollsSet, named_ballot_body


class NamedStanding(enum.StrEnum):
    """What the staff member may do in one named poll."""

    MAY_VOTE = "may-vote"
    MAY_VOTE_AGAIN = "may-vote-again"  # voted here before; a new ballot replaces it (latest counts)
    ALREADY_VOTED = "already-voted"  # voted here before and the first ballot counts
    NO_ROLE = "no-role"  # none of the roles that vote in this poll
    NOT_OPEN = "not-open"


@dataclass(frozen=True)
class NamedPollForStaff:
    """One named poll as it stands for the signed-in staff member."""

    notice: NamedPollNotice
    standing: NamedStanding

    @property
    def may_cast(self) -> bool:
        return self.standing in (NamedStanding.MAY_VOTE, NamedStanding.MAY_VOTE_AGAIN)


def standing(
    notice: NamedPollNotice, roles: Collection[str], employee_id: str, cast_here: Collection[str], now: dt.datetime
) -> NamedPollForStaff:
    """How a staff member with ``roles`` stands in one named poll (``cast_here``: employee ids that cast here)."""
    if not notice.is_open(int(now.timestamp() * 1000)):
        return NamedPollForStaff(notice, NamedStanding.NOT_OPEN)
    if not notice.allows_roles(roles):
        return NamedPollForStaff(notice, NamedStanding.NO_ROLE)
    if employee_id not in cast_here:
        return NamedPollForStaff(notice, NamedStanding.MAY_VOTE)
    again = NamedStanding.MAY_VOTE_AGAIN if notice.rules.revote == "latest" else NamedStanding.ALREADY_VOTED
    return NamedPollForStaff(notice, again)


def named_polls_for(
    polls: PollsSet | None,
    roles: Collection[str],
    employee_id: str,
    cast_here: Mapping[str, Collection[str]],
    now: dt.datetime,
) -> list[NamedPollForStaff]:
    """Every named poll the kiosk knows of, with the staff member's standing in each, open ones first."""
    if polls is None:
        return []
    found = [standing(notice, roles, employee_id, cast_here.get(notice.poll_id, ()), now) for notice in polls.named]
    return sorted(found, key=lambda poll: (poll.standing is NamedStanding.NOT_OPEN, poll.notice.closes_at))


def prepare(
    notice: NamedPollNotice,
    chosen: frozenset[int],
    *,
    employee_id: str,
    certificate_der: bytes,
    card_sign: Callable[[bytes], bytes],
    device: DeviceSigner,
    now: dt.datetime,
) -> NamedEnvelope:
    """The complete, signed named envelope for ``chosen`` (nothing stored yet): the card signs, then the device."""
    if not notice.rules.allows(chosen):
        raise ValueError("the choices do not make a valid ballot for this poll")
    ballot = NamedBallot(
        notice.poll_id, employee_id, tuple(sorted(chosen)), int(now.timestamp() * 1000), device.device_id
    )
    envelope = NamedEnvelope(ballot, certificate_der.hex(), card_sign(card_signing_bytes(ballot)).hex())
    signature = device.key.sign(device_signing_bytes(envelope), ec.ECDSA(hashes.SHA256()))
    return replace(envelope, device_signature=signature.hex())


def store(
    session: Session, notice: NamedPollNotice, envelope: NamedEnvelope, device: DeviceSigner, *, capacity: int
) -> Receipt:
    """Put the named envelope in the outbox and note it, in ``session``'s transaction (the caller commits)."""
    body = named_ballot_body(envelope, device.certificate_pem)
    row = outbox.enqueue(session, NAMED_BALLOT_KIND, body, capacity=capacity)
    session.add(
        CastBallot(
            tracking_hash=envelope.tracking_hash,
            poll_id=notice.poll_id,
            pseudonym=envelope.ballot.employee_id,
            outbox_id=row.id,
            cast_at=dt.datetime.fromtimestamp(envelope.ballot.cast_at / 1000, dt.UTC),
        )
    )
    session.flush()
    code = short_code(envelope.tracking_hash)
    return Receipt(notice.poll_id, envelope.tracking_hash, code, lookup_url(notice.board_url, code))
