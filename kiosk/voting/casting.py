"""Casting a ballot at the kiosk, offline: encrypt, sign, seal, store with the outbox row, then the receipt.

The order matters (SEC-07, SEC-08, SEC-11): everything that can fail — the card's signature, the encryption —
happens before the database is touched; then one transaction stores the envelope as the outbox row and the
kiosk's note of it. Only after that commits does the resident see the receipt, whose tracking code is the hash of
exactly the ballot stored and sent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from urllib.parse import quote

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk import outbox
from kiosk.voting.models import CastBallot
from protocol.ballots.ballot import cast_ballot, short_code
from protocol.ballots.envelope import Envelope, card_signing_bytes, device_signing_bytes
from protocol.polls import BALLOT_KIND, NamedPollNotice, PollNotice, ballot_body, seal_certificate


@dataclass(frozen=True)
class Receipt:
    """What the resident takes home: the poll, the tracking code (short and full) and where to look it up."""

    poll_id: str
    tracking_hash: str
    short_code: str
    lookup_url: str


@dataclass(frozen=True)
class DeviceSigner:
    """The kiosk's device key and certificate (its MQTT client identity), which sign every envelope."""

    key: ec.EllipticCurvePrivateKey
    certificate_pem: str
    device_id: str


def lookup_url(board_url: str, code: str) -> str:
    """The board page that finds ``code`` (what the receipt's QR code opens)."""
    separator = "&" if "?" in board_url else "?"
    return f"{board_url}{separator}kod={quote(code)}" if board_url else ""


def prepare(
    notice: PollNotice,
    chosen: frozenset[int],
    *,
    pseudonym: str,
    seal_key: bytes,
    certificate_der: bytes,
    card_sign: Callable[[bytes], bytes],
    device: DeviceSigner,
    now: dt.datetime,
) -> Envelope:
    """The complete, signed envelope for ``chosen`` (nothing stored yet): the card signs, then the device."""
    if not notice.rules.allows(chosen):
        raise ValueError("the choices do not make a valid ballot for this poll")
    ballot = cast_ballot(notice.rules, notice.key.public_key, chosen)
    envelope = Envelope(ballot, pseudonym, device.device_id, int(now.timestamp() * 1000))
    envelope = replace(
        envelope,
        card_signature=card_sign(card_signing_bytes(envelope)).hex(),
        sealed_certificate=seal_certificate(certificate_der, seal_key),
    )
    signature = device.key.sign(device_signing_bytes(envelope), ec.ECDSA(hashes.SHA256()))
    return replace(envelope, device_signature=signature.hex())


def store(session: Session, notice: PollNotice, envelope: Envelope, device: DeviceSigner, *, capacity: int) -> Receipt:
    """Put the envelope in the outbox and note it, in ``session``'s transaction (the caller commits)."""
    row = outbox.enqueue(session, BALLOT_KIND, ballot_body(envelope, device.certificate_pem), capacity=capacity)
    session.add(
        CastBallot(
            tracking_hash=envelope.tracking_hash,
            poll_id=notice.poll_id,
            pseudonym=envelope.pseudonym,
            outbox_id=row.id,
            cast_at=dt.datetime.fromtimestamp(envelope.cast_at / 1000, dt.UTC),
        )
    )
    session.flush()
    code = short_code(envelope.tracking_hash)
    return Receipt(notice.poll_id, envelope.tracking_hash, code, lookup_url(notice.board_url, code))


def cast_here(session: Session) -> dict[str, set[str]]:
    """Poll id → the pseudonyms that cast a ballot at this kiosk."""
    found: dict[str, set[str]] = {}
    for poll_id, pseudonym in session.execute(select(CastBallot.poll_id, CastBallot.pseudonym)):
        found.setdefault(poll_id, set()).add(pseudonym)
    return found


def find_receipt(session: Session, notice: PollNotice | NamedPollNotice, tracking_hash: str) -> Receipt | None:
    """The receipt of a ballot cast here (to show it again), or None."""
    row = session.get(CastBallot, tracking_hash)
    if row is None or row.poll_id != notice.poll_id:
        return None
    code = short_code(row.tracking_hash)
    return Receipt(row.poll_id, row.tracking_hash, code, lookup_url(notice.board_url, code))
