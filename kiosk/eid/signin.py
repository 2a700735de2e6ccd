"""The sign-in flow on a card, in two steps: `begin` when the card is inserted, `complete` with the PIN.

`begin` reads the authentication certificate and validates it offline, so a revoked, expired or foreign card is
refused before anyone types a PIN. `complete` verifies the PIN on the card and has the card sign a fresh
challenge bound to this kiosk and this moment (`protocol.eid.signin_challenge`); only a signature that verifies
with the certificate's key starts a session (SEC-02). The PIN goes to the card and nowhere else (SEC-03).

Card failures come out as `Refused` with a reason, except `kiosk.card.CardRemoved` (the caller ends the
session) and `kiosk.card.WrongPin` (the caller asks again, showing the tries left).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from kiosk.card import (
    Card,
    CardError,
    CardRemoved,
    InvalidPinFormat,
    NotPivCard,
    PinBlocked,
    SignAlgorithm,
    UnsupportedCard,
    WrongPin,
)
from kiosk.card.piv import pkcs1_v15_block
from protocol.eid import NONCE_BYTES, CardHolder, HolderKind, signin_challenge
from protocol.eid_validation import EidTrust, Reason, Refused, ValidationPolicy, ValidCertificate, validate_certificate

log = logging.getLogger(__name__)


@dataclass(frozen=True, repr=False)
class Visitor:
    """The person signed in at the kiosk: a resident, or staff with the roles the signed staff list gives.

    Kept in memory for the visit only; ``repr`` shows no identity number (SEC-14).
    """

    holder: CardHolder
    roles: tuple[str, ...]
    signed_in_at: dt.datetime
    certificate_der: bytes = field(default=b"", repr=False)  # sealed to the hub inside a ballot's envelope

    @property
    def kind(self) -> HolderKind:
        """Resident or staff."""
        return self.holder.kind

    @property
    def given_name(self) -> str:
        """The name the screen greets the person by."""
        return self.holder.given_name

    @property
    def birth_year(self) -> int | None:
        """A resident's year of birth (the most a screen shows), None for staff."""
        return self.holder.birth_year

    def __repr__(self) -> str:
        return f"Visitor({self.holder!r}, roles={list(self.roles)})"


@dataclass(frozen=True)
class PendingSignin:
    """A card whose certificate is valid, waiting for its PIN; ``tries_left`` None: the PIN is already verified."""

    valid: ValidCertificate
    roles: tuple[str, ...]
    tries_left: int | None

    @property
    def holder(self) -> CardHolder:
        """Whom the certificate names."""
        return self.valid.holder


def _card_refusal(exc: CardError) -> Refused:
    if isinstance(exc, NotPivCard):
        return Refused(Reason.NOT_AN_EID, "no PIV application")
    if isinstance(exc, UnsupportedCard):
        return Refused(Reason.UNSUPPORTED_CARD, exc.message)
    if isinstance(exc, PinBlocked):
        return Refused(Reason.PIN_BLOCKED, "the PIN is blocked")
    return Refused(Reason.UNREADABLE, f"{type(exc).__name__}: {exc.message}")


def _staff_roles(valid: ValidCertificate, trust: EidTrust, now: dt.datetime) -> tuple[str, ...]:
    if valid.holder.kind is not HolderKind.STAFF:
        return ()
    roles = trust.staff_roles_for(valid.holder.employee_id or "", valid.chain[1], now)
    if not roles:
        raise Refused(Reason.STAFF_UNKNOWN, "the employee id is not on the signed staff list for its issuer")
    return roles


def begin(
    card: Card,
    trust: EidTrust,
    now: dt.datetime,
    *,
    clock_floor: dt.datetime | None = None,
    policy: ValidationPolicy | None = None,
) -> PendingSignin:
    """Read and validate the card's certificate; `Refused` for any card that cannot sign in."""
    try:
        der = card.read_certificate()
        valid = validate_certificate(der, trust, now, clock_floor=clock_floor, policy=policy)
        roles = _staff_roles(valid, trust, now)
        pending = PendingSignin(valid, roles, None)
        _algorithm(pending)  # a key the kiosk cannot check is refused before anyone types a PIN
        tries = card.pin_tries_left()
    except CardRemoved:
        raise
    except CardError as exc:
        raise _card_refusal(exc) from None
    if tries == 0:
        raise Refused(Reason.PIN_BLOCKED, "the PIN is blocked")
    return PendingSignin(valid, roles, tries)


def recheck(
    pending: PendingSignin,
    trust: EidTrust,
    now: dt.datetime,
    *,
    clock_floor: dt.datetime | None = None,
    policy: ValidationPolicy | None = None,
) -> None:
    """Validate the waiting card's certificate again (its list may have changed, or its validity ended, while
    it waited at the PIN); `Refused` if it no longer passes."""
    der = pending.valid.certificate.public_bytes(serialization.Encoding.DER)
    _staff_roles(validate_certificate(der, trust, now, clock_floor=clock_floor, policy=policy), trust, now)


def _algorithm(pending: PendingSignin) -> SignAlgorithm:
    return algorithm_for(pending.valid.certificate)


def algorithm_for(certificate: x509.Certificate) -> SignAlgorithm:
    """How a card with ``certificate`` signs; `Refused` for a key the kiosk cannot check."""
    key = certificate.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        return SignAlgorithm.ECC_P256
    if isinstance(key, rsa.RSAPublicKey) and key.key_size == 2048:
        return SignAlgorithm.RSA_2048
    raise Refused(Reason.UNSUPPORTED_CARD, "the certificate's key is neither P-256 nor RSA-2048")


def _signature_holds(pending: PendingSignin, signature: bytes, digest: bytes) -> bool:
    return signature_holds(pending.valid.certificate, signature, digest)


def signature_holds(certificate: x509.Certificate, signature: bytes, digest: bytes) -> bool:
    """Whether ``signature`` is the certificate key's signature of the SHA-256 ``digest``."""
    key = certificate.public_key()
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, digest, ec.ECDSA(Prehashed(hashes.SHA256())))
        elif isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, digest, padding.PKCS1v15(), Prehashed(hashes.SHA256()))
        else:
            return False
    except (InvalidSignature, ValueError):
        return False
    return True


def complete(
    card: Card,
    pending: PendingSignin,
    pin: str,
    *,
    device_id: str,
    now: dt.datetime,
    random_bytes: Callable[[int], bytes] = os.urandom,
) -> Visitor:
    """Verify ``pin`` on the card and have it sign a fresh challenge; the `Visitor` when the signature holds.

    Raises `WrongPin` (ask again), `InvalidPinFormat` (not 6–8 digits: nothing was sent to the card),
    `CardRemoved` (end the session) or `Refused`.
    """
    algorithm = _algorithm(pending)
    certificate_der = pending.valid.certificate.public_bytes(serialization.Encoding.DER)
    digest = signin_challenge(
        device_id=device_id,
        at_ms=int(now.timestamp() * 1000),
        nonce=random_bytes(NONCE_BYTES),
        certificate_sha256=hashlib.sha256(certificate_der).digest(),
    )
    try:
        card.verify_pin(pin)
        block = digest if algorithm is SignAlgorithm.ECC_P256 else pkcs1_v15_block(digest)
        signature = card.sign(block, algorithm)
    except (CardRemoved, WrongPin, InvalidPinFormat):
        raise
    except CardError as exc:
        raise _card_refusal(exc) from None
    if not _signature_holds(pending, signature, digest):
        raise Refused(Reason.SIGNATURE_INVALID, "the card's signature does not verify with its certificate")
    log.info("card holder signed in", extra={"holder_kind": str(pending.holder.kind)})
    return Visitor(pending.holder, pending.roles, now, certificate_der)


def sign_statement(card: Card, certificate: x509.Certificate, data: bytes) -> bytes:
    """Have the signed-in card sign ``data`` (its SHA-256), and check the signature before returning it.

    The card must still hold its verified PIN (the same session as the sign-in): a card swapped in the meantime
    answers with an error or a signature that does not hold, never with someone else's consent.
    """
    algorithm = algorithm_for(certificate)
    digest = hashlib.sha256(data).digest()
    block = digest if algorithm is SignAlgorithm.ECC_P256 else pkcs1_v15_block(digest)
    try:
        signature = card.sign(block, algorithm)
    except CardRemoved:
        raise
    except CardError as exc:
        raise _card_refusal(exc) from None
    if not signature_holds(certificate, signature, digest):
        raise Refused(Reason.SIGNATURE_INVALID, "the card's signature does not verify with its certificate")
    return signature
