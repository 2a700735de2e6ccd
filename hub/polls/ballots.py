"""The ingest handler for ballots (`protocol.polls.BALLOT_KIND`): every check of an envelope, then the board.

In order: the poll is known and open for ballots (else the action is refused: `ActionRefused`), the envelope
can be read, the ballot was cast within the poll's schedule, by the kiosk that sent it, whose certificate
chains to the device CA and is not revoked, and whose key signed the envelope; the voter's certificate, sealed
to the hub, opens and is a valid resident e-ID at cast time; the card signed this ballot; the pseudonym is that
certificate's personnummer's in this poll and is on the roll; the voter is old enough; every proof holds
(`envelope.envelope_problem`). A ballot failing a check goes on the board as rejected with the reason; one that
passes goes on it as accepted and the re-vote rule and the aggregate follow (`hub.polls.board`). Only a
tracking code already on the board, an unknown or not yet open poll, and a poll already counted are refused.

The certificate is opened in memory only: neither it nor the personnummer is stored or logged (SEC-14).
The hub judges the card at its cast time with the revocation lists it holds now, which may be newer than the
cast (a kiosk that was offline): the clock-skew allowance is widened by the delay, and a card revoked before its
ballot arrived is refused (docs/decisions.md D72).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import threading
import time
from dataclasses import dataclass
from typing import Generic, TypeVar
from zoneinfo import ZoneInfo

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from cryptography.x509.oid import NameOID
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from hub.audit import log as audit_log
from hub.ingest.handlers import ActionContext, ActionRefused, ActionUnchecked
from hub.polls import board as hub_board
from hub.polls.drafts import find_poll, key_of, rules_of
from hub.polls.keys import SealKey, roll_secret, seal_key
from hub.polls.models import PartialRow, Poll
from hub.polls.roll import on_roll
from hub.sets.trust import TrustError, read_ca_chain, read_eid_certificates, read_eid_crls, read_revoked
from hub.settings import HubSettings
from protocol.ballots.board import BoardEntry
from protocol.ballots.envelope import Envelope, card_signing_bytes, envelope_problem, verify_device_signature
from protocol.ballots.poll import PollRules
from protocol.chain import ChainError, split_anchors, verify_chain
from protocol.eid_validation import EidTrust, Refused, ValidationPolicy, validate_certificate
from protocol.polls import (
    BALLOT_KIND,
    PollSetError,
    open_certificate,
    parse_ballot_body,
    poll_id_of,
    roll_key_for,
    voter_pseudonym,
)
from protocol.settings import ConfigError

log = logging.getLogger(__name__)

KIND = BALLOT_KIND
MATERIALS_TTL_SECONDS = 300.0  # how long the CA files, revocation lists and keys read from disk are reused
TIMEZONE = ZoneInfo("Europe/Stockholm")  # an age limit is judged by the Swedish calendar day of the cast
COUNTED_STATES = ("tallied", "published")
M = TypeVar("M")


@dataclass(frozen=True)
class Materials:
    """What checking a ballot needs from the hub's files: device CA, revoked devices, e-ID trust, keys."""

    device_roots: tuple[x509.Certificate, ...]
    device_intermediates: tuple[x509.Certificate, ...]
    revoked_devices: frozenset[str]
    eid: EidTrust
    seal: SealKey
    roll_secret: bytes


def load_materials(settings: HubSettings) -> Materials:
    """Read the device CA, the e-ID issuers and lists and the poll keys; `TrustError`/`ConfigError` if unusable."""
    if settings.device_api_ca_file is None:
        raise ConfigError("device_api_ca_file is not set: kiosks' ballots cannot be checked")
    device_certs = [x509.load_pem_x509_certificate(b.encode()) for b in read_ca_chain(settings.device_api_ca_file)]
    roots, intermediates = split_anchors(device_certs)
    revoked = read_revoked(settings.device_api_revoked_file) if settings.device_api_revoked_file else frozenset()
    eid_certs = (
        [x509.load_pem_x509_certificate(b.encode()) for b in read_eid_certificates(settings.eid_ca_file)]
        if settings.eid_ca_file is not None
        else []
    )
    crls = read_eid_crls(settings.eid_crl_dir) if settings.eid_crl_dir is not None else ()
    eid_roots, eid_intermediates = split_anchors(eid_certs)
    trust = EidTrust(
        tuple(eid_roots), tuple(eid_intermediates), tuple(x509.load_pem_x509_crl(c.encode()) for c in crls)
    )
    return Materials(tuple(roots), tuple(intermediates), revoked, trust, seal_key(settings), roll_secret(settings))


class CheckingHandler(Generic[M]):
    """A ballot handler that reads the hub's files (`load`) at most every `MATERIALS_TTL_SECONDS` and refuses,
    keeping the action for `tinget hub poll recheck`, while they cannot be read. Subclasses say what they check."""

    what = "ballots"

    def __init__(self, settings: HubSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._materials: M | None = None
        self._loaded_at = 0.0

    def load(self) -> M:
        """Read the files; `TrustError`/`ConfigError` if unusable."""
        raise NotImplementedError

    def handle(self, session: Session, action: ActionContext, materials: M, now: dt.datetime) -> None:
        """Check one action with the materials."""
        raise NotImplementedError

    def materials(self) -> M:
        """The current materials (re-read when stale)."""
        with self._lock:
            if self._materials is None or time.monotonic() - self._loaded_at >= MATERIALS_TTL_SECONDS:
                self._materials = self.load()
                self._loaded_at = time.monotonic()
            return self._materials

    def __call__(self, session: Session, action: ActionContext) -> None:
        try:
            materials = self.materials()
        except (TrustError, ConfigError) as exc:
            # The action and its body are kept as refused: staff can fix the configuration and recheck it.
            raise ActionUnchecked(f"the hub cannot check {self.what} now: {exc}") from None
        self.handle(session, action, materials, dt.datetime.now(dt.UTC))


class BallotHandler(CheckingHandler[Materials]):
    """The handler registered for `KIND`."""

    def load(self) -> Materials:
        return load_materials(self.settings)

    def handle(self, session: Session, action: ActionContext, materials: Materials, now: dt.datetime) -> None:
        handle_ballot(session, action, materials, now=now)


def handle_ballot(session: Session, action: ActionContext, materials: Materials, *, now: dt.datetime) -> str:
    """Check one ballot action and put it on its poll's board; the entry's status (counted, superseded,
    rejected). `ActionRefused` for an unknown, unopened or counted poll, or a tracking code already on the board."""
    try:
        poll_id = poll_id_of(action.body)
    except PollSetError as exc:
        raise ActionRefused(f"not a ballot: {exc}") from None
    poll = find_poll(session, poll_id)
    if poll is None or poll.state == "draft":
        raise ActionRefused(f"there is no open poll {poll_id}")
    session.refresh(poll, with_for_update=True)  # one board writer at a time (PostgreSQL; SQLite is serial)
    if not poll.secret:
        raise ActionRefused(f"poll {poll_id} is a named poll: it takes no secret ballot")
    if poll.state in COUNTED_STATES:
        raise ActionRefused(f"poll {poll_id} has been counted: the ballot arrived too late for its board")
    rules = rules_of(poll)
    try:
        envelope, device_certificate = parse_ballot_body(action.body, rules)
    except ValueError as exc:
        tracking = unreadable_tracking(action.body)
        _refuse_duplicate(session, poll, tracking)
        entry = hub_board.next_entry(poll, tracking=tracking, voter=None, cast_at=None, reason=f"unreadable: {exc}")
        return _append(session, poll, rules, entry, action.device_id)
    _refuse_duplicate(session, poll, envelope.tracking_hash)
    reason = ballot_problem(session, poll, rules, envelope, device_certificate, action.device_id, materials, now)
    entry = hub_board.next_entry(
        poll,
        tracking=envelope.tracking_hash,
        voter=envelope.pseudonym if _is_pseudonym(envelope.pseudonym) else None,
        cast_at=envelope.cast_at,
        ballot=envelope.ballot if reason is None else None,
        reason=reason,
    )
    return _append(session, poll, rules, entry, action.device_id)


def _append(session: Session, poll: Poll, rules: PollRules, entry: BoardEntry, device_id: str) -> str:
    status = hub_board.append(session, poll, rules, entry, device_id=device_id)
    if poll.state == "closed":
        discard_stale_partials(session, poll)
    log.info("ballot on the board", extra={"poll": poll.id, "seq": entry.seq, "status": status})
    return status


def discard_stale_partials(session: Session, poll: Poll) -> None:
    """A ballot cast before the close arrived after it: partial decryptions already taken in decrypt the board
    without it, and can no longer be combined. They are dropped (audited); the trustees decrypt the new board."""
    stale = session.scalar(select(func.count()).select_from(PartialRow).where(PartialRow.poll_id == poll.id))
    if stale:
        session.execute(delete(PartialRow).where(PartialRow.poll_id == poll.id))
        audit_log.record(
            session,
            actor="ingest",
            action="poll.partials_discarded",
            subject=poll.id,
            details={"partials": int(stale), "head": poll.board_head},
        )


def _refuse_duplicate(session: Session, poll: Poll, tracking: str) -> None:
    if hub_board.has_tracking(session, poll.id, tracking):
        raise ActionRefused(f"a ballot with tracking code {tracking[:16]}… is already on the board of {poll.id}")


def unreadable_tracking(body: object) -> str:
    """The tracking code of what arrived when it cannot be read as a ballot: the hash of its JSON."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def _is_pseudonym(text: str) -> bool:
    return len(text) == 64 and all(c in "0123456789abcdef" for c in text)


def ballot_problem(
    session: Session,
    poll: Poll,
    rules: PollRules,
    envelope: Envelope,
    device_certificate: x509.Certificate,
    sender: str,
    materials: Materials,
    now: dt.datetime,
) -> str | None:
    """Why the ballot is rejected, or None when every check holds (see the module docstring for the order)."""
    cast = dt.datetime.fromtimestamp(envelope.cast_at / 1000, dt.UTC)
    if not poll.opens_at <= cast < poll.closes_at:
        return "cast outside the poll's opening hours"
    if envelope.device_id != sender:
        return "the envelope names another kiosk than the one that sent it"
    problem = device_problem(device_certificate, sender, materials, cast)
    if problem is not None:
        return problem
    device_key = device_certificate.public_key()
    if not isinstance(device_key, ec.EllipticCurvePublicKey) or not verify_device_signature(device_key, envelope):
        return "the kiosk's signature does not hold"
    try:
        der = open_certificate(envelope.sealed_certificate, materials.seal.public, materials.seal.secret)
    except (PollSetError, ValueError):
        return "the voter's certificate cannot be opened with the hub's seal key"
    policy = ValidationPolicy(clock_skew=max(ValidationPolicy().clock_skew, now - cast + ValidationPolicy().clock_skew))
    try:
        valid = validate_certificate(der, materials.eid, cast, policy=policy)
    except Refused as exc:
        return f"the voter's e-ID is refused ({exc.reason})"
    pnr = valid.holder.personnummer
    if pnr is None:
        return "the card is not a resident's e-ID"
    if not card_signature_holds(valid.certificate, envelope):
        return "the card's signature does not hold"
    if envelope.pseudonym != voter_pseudonym(roll_key_for(materials.roll_secret, poll.id), pnr, poll.id):
        return "the pseudonym is not the card holder's"
    if not on_roll(session, poll.id, envelope.pseudonym):
        return "the voter is not on the roll"
    if poll.min_age is not None and pnr.age_on(cast.astimezone(TIMEZONE).date()) < poll.min_age:
        return "the voter is younger than the poll's age limit"
    return envelope_problem(rules, key_of(poll).public_key, envelope, device_key)


def device_problem(certificate: x509.Certificate, sender: str, materials: Materials, at: dt.datetime) -> str | None:
    """Why the sending kiosk's certificate does not hold at ``at`` (another device's, revoked, not chaining to
    the device CA), or None; named ballots are checked the same way (`hub.polls.named`)."""
    names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if [n.value for n in names] != [sender]:
        return "the kiosk's certificate is another device's"
    if sender in materials.revoked_devices:
        return "the kiosk's certificate is revoked"
    try:
        verify_chain(certificate, materials.device_roots, materials.device_intermediates, at)
    except ChainError:
        return "the kiosk's certificate does not chain to the device CA at cast time"
    return None


def card_signature_holds(certificate: x509.Certificate, envelope: Envelope) -> bool:
    """Whether the envelope's card signature is the certificate key's over SHA-256 of `card_signing_bytes`
    (as a PIV card signs: ECDSA P-256 or RSA PKCS#1 v1.5 over the digest)."""
    digest = hashlib.sha256(card_signing_bytes(envelope)).digest()
    key = certificate.public_key()
    try:
        signature = bytes.fromhex(envelope.card_signature)
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, digest, ec.ECDSA(Prehashed(hashes.SHA256())))
        elif isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, digest, padding.PKCS1v15(), Prehashed(hashes.SHA256()))
        else:
            return False
    except (InvalidSignature, ValueError):
        return False
    return True
