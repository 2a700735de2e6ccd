"""The ingest handler for named ballots (`protocol.polls.NAMED_BALLOT_KIND`, staff votes, D77, D78).

In order: the poll is known, named and open for ballots (else the action is refused: `ActionRefused`), the
envelope can be read, the ballot was cast within the poll's schedule, by the kiosk that sent it, whose
certificate chains to the device CA and is not revoked and whose key signed the envelope; the card's certificate
is a valid e-ID at cast time (the hub's e-ID trust and lists, as for a resident's card, D72), names a staff
member, the one the ballot names, and was issued directly by a CA that issues staff cards
(``eid_staff_ca_file``, as kiosk sign-in checks); the card signed this ballot; the employee id belongs to an
active member on the hub's staff list now, with one of the poll's roles when it names any. A ballot failing a
check goes on the named board as rejected with the reason; one that passes goes on it with the name from the
certificate, and the re-vote rule follows by employee id (`hub.polls.named_board`).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.ingest.handlers import ActionContext, ActionRefused
from hub.polls import named_board
from hub.polls.ballots import (
    COUNTED_STATES,
    CheckingHandler,
    Materials,
    device_problem,
    load_materials,
    unreadable_tracking,
)
from hub.polls.drafts import find_poll, roles_of, rules_of
from hub.polls.models import BoardRow, Poll
from hub.sets.staff_list import staff_issuers
from hub.settings import HubSettings
from hub.staff.models import StaffUser
from protocol.ballots import named
from protocol.ballots.named import NamedBallotError, NamedEnvelope
from protocol.eid import HolderKind, certificate_fingerprint
from protocol.eid_validation import Refused, ValidationPolicy, validate_certificate
from protocol.polls import NAMED_BALLOT_KIND, PollSetError, parse_named_ballot_body, poll_id_of

log = logging.getLogger(__name__)

KIND = NAMED_BALLOT_KIND


@dataclass(frozen=True)
class NamedMaterials:
    """What checking a named ballot needs: the device CA and e-ID trust, and the staff card issuers."""

    base: Materials
    staff_issuers: frozenset[str]  # fingerprints of the CAs in eid_staff_ca_file


def load_named_materials(settings: HubSettings) -> NamedMaterials:
    """Read the files; `TrustError`/`ConfigError` if unusable."""
    return NamedMaterials(load_materials(settings), frozenset(staff_issuers(settings)))


class NamedBallotHandler(CheckingHandler[NamedMaterials]):
    """The handler registered for `KIND`."""

    what = "named ballots"

    def load(self) -> NamedMaterials:
        return load_named_materials(self.settings)

    def handle(self, session: Session, action: ActionContext, materials: NamedMaterials, now: dt.datetime) -> None:
        handle_named_ballot(session, action, materials, now=now)


def handle_named_ballot(session: Session, action: ActionContext, materials: NamedMaterials, *, now: dt.datetime) -> str:
    """Check one named ballot action and put it on its poll's named board; the entry's status.
    `ActionRefused` for an unknown, unopened, secret or counted poll, or a tracking code already on the board."""
    try:
        poll_id = poll_id_of(action.body)
    except PollSetError as exc:
        raise ActionRefused(f"not a named ballot: {exc}") from None
    poll = find_poll(session, poll_id)
    if poll is None or poll.state == "draft":
        raise ActionRefused(f"there is no open poll {poll_id}")
    session.refresh(poll, with_for_update=True)
    if poll.secret:
        raise ActionRefused(f"poll {poll_id} is secret: it takes no named ballot")
    if poll.state in COUNTED_STATES:
        raise ActionRefused(f"poll {poll_id} has been counted: the ballot arrived too late for its board")
    seq, prev = named_board.next_seq_prev(poll)
    try:
        envelope, device_certificate = parse_named_ballot_body(action.body, rules_of(poll))
    except ValueError as exc:
        tracking = unreadable_tracking(action.body)
        _refuse_duplicate(session, poll, tracking)
        entry = named.rejected(seq, prev, tracking, f"unreadable: {exc}")
        return _append(session, poll, entry, action.device_id)
    _refuse_duplicate(session, poll, envelope.tracking_hash)
    reason, name = named_ballot_problem(session, poll, envelope, device_certificate, action.device_id, materials, now)
    ballot = envelope.ballot
    if reason is None and name is not None:
        entry = named.accepted(seq, prev, envelope, name)
    else:
        entry = named.rejected(seq, prev, ballot.tracking_hash, reason or "?", ballot.employee_id, ballot.cast_at)
    return _append(session, poll, entry, action.device_id)


def _append(session: Session, poll: Poll, entry: named.NamedEntry, device_id: str) -> str:
    status = named_board.append(session, poll, entry, device_id=device_id)
    log.info("named ballot on the board", extra={"poll": poll.id, "seq": entry.seq, "status": status})
    return status


def _refuse_duplicate(session: Session, poll: Poll, tracking: str) -> None:
    query = select(BoardRow.seq).where(BoardRow.poll_id == poll.id, BoardRow.tracking == tracking)
    if session.scalar(query) is not None:
        raise ActionRefused(f"a ballot with tracking code {tracking[:16]}… is already on the board of {poll.id}")


def named_ballot_problem(
    session: Session,
    poll: Poll,
    envelope: NamedEnvelope,
    device_certificate: x509.Certificate,
    sender: str,
    materials: NamedMaterials,
    now: dt.datetime,
) -> tuple[str | None, str | None]:
    """(why the ballot is rejected, None) or (None, the voter's name from the certificate)."""
    ballot = envelope.ballot
    cast = dt.datetime.fromtimestamp(ballot.cast_at / 1000, dt.UTC)
    if not poll.opens_at <= cast < poll.closes_at:
        return "cast outside the poll's opening hours", None
    if ballot.device_id != sender:
        return "the ballot names another kiosk than the one that sent it", None
    problem = device_problem(device_certificate, sender, materials.base, cast)
    if problem is not None:
        return problem, None
    device_key = device_certificate.public_key()
    if not isinstance(device_key, ec.EllipticCurvePublicKey) or not named.verify_device_signature(device_key, envelope):
        return "the kiosk's signature does not hold", None
    try:
        der = named.read_certificate(envelope.certificate).public_bytes(serialization.Encoding.DER)
    except NamedBallotError as exc:
        return f"the card's certificate: {exc}", None
    skew = ValidationPolicy().clock_skew
    try:
        valid = validate_certificate(
            der, materials.base.eid, cast, policy=ValidationPolicy(clock_skew=max(skew, now - cast + skew))
        )
    except Refused as exc:
        return f"the card is refused ({exc.reason})", None
    holder = valid.holder
    if holder.kind is not HolderKind.STAFF or holder.employee_id != ballot.employee_id:
        return "the card is not the staff card of the employee the ballot names", None
    if len(valid.chain) < 2 or certificate_fingerprint(valid.chain[1]) not in materials.staff_issuers:
        return "the card's issuer does not issue the municipality's staff cards", None
    try:
        signature = bytes.fromhex(envelope.card_signature)
    except ValueError:
        signature = b""
    if not named.card_signature_holds(valid.certificate, ballot, signature):
        return "the card's signature does not hold", None
    user = session.scalar(
        select(StaffUser).where(StaffUser.employee_id == ballot.employee_id, StaffUser.active.is_(True))
    )
    if user is None:
        return "the employee is not on the staff list", None
    wanted = roles_of(poll)
    if wanted and not {role.role for role in user.roles} & set(wanted):
        return "the employee has none of the roles that vote in this poll", None
    return None, holder.full_name
