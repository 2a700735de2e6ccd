"""The e-ID certificate profile: who a card's authentication certificate names, and the sign-in challenge.

A Swedish e-ID card carries an authentication certificate whose subject ``serialNumber`` (OID 2.5.4.5) is the
holder's identity: a personnummer (12 digits, as on BankID/Freja and the state e-ID card) for a resident, or an
employee id in the HSA-id style (``SE`` + the organisation number + ``-`` + a local part, as on SITHS cards)
for staff. `card_holder` reads that, and the name, from a certificate that has already been validated.

The challenge a card signs at sign-in (`signin_challenge`) binds the kiosk, the moment and a fresh nonce to the
certificate, with a domain string of its own, so a signature made for one purpose, kiosk or moment is worth
nothing for another (SEC-02).
"""

from __future__ import annotations

import enum
import hashlib
import re
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from protocol.identity import InvalidPersonnummer, Personnummer, parse_personnummer

__all__ = [
    "CHALLENGE_DOMAIN",
    "EMPLOYEE_ID",
    "STAFF_LIST_PURPOSE",
    "CardHolder",
    "HolderKind",
    "NotAnEid",
    "RefusalReason",
    "card_holder",
    "certificate_fingerprint",
    "parse_employee_id",
    "signin_challenge",
]

EMPLOYEE_ID = re.compile(r"SE[0-9]{10,12}-[A-Za-z0-9]{1,31}")
"""An HSA-id style employee id: ``SE`` + a 10–12 digit organisation number + ``-`` + 1–31 letters or digits."""

CHALLENGE_DOMAIN = b"tinget/eid-signin/v1"
STAFF_LIST_PURPOSE = "tinget/staff-list/v2"
"""The purpose of the hub-signed staff list (`protocol.signed`). Its content::

    {"members": {employee id: [role, …]}, "issuers": [fingerprint, …], "issued_at": ms, "expires_at": ms}

A staff card counts only if its direct issuer's `certificate_fingerprint` is in ``issuers`` (an employee id is
a string any trusted issuer could put in a certificate), and only until ``expires_at`` (a kiosk cut off longer
than that stops accepting staff cards, so a removed card cannot work forever offline)."""
NONCE_BYTES = 32


class NotAnEid(ValueError):
    """The certificate does not name a resident or a staff member the way an e-ID does; the message says why."""


class RefusalReason(enum.StrEnum):
    """Why a kiosk refused a card: a stable code, shown as its own message and sent in audit records."""

    NOT_AN_EID = "not-an-eid"  # no PIV application, or the certificate names nobody
    UNSUPPORTED_CARD = "unsupported-card"
    UNREADABLE = "unreadable"  # the card answered nonsense or failed
    UNKNOWN_ISSUER = "unknown-issuer"  # the certificate does not chain to a trust anchor
    EXPIRED = "expired"
    NOT_YET_VALID = "not-yet-valid"
    REVOKED = "revoked"
    NO_TRUST_LIST = "no-trust-list"  # the kiosk has no trust set (or no list for this issuer)
    STALE_TRUST_LIST = "stale-trust-list"  # the revocation list is older than its next update + grace
    CLOCK_BEHIND = "clock-behind"  # the kiosk's clock is before the last time it knew to be true
    PIN_BLOCKED = "pin-blocked"
    SIGNATURE_INVALID = "signature-invalid"  # the card did not prove it holds the certificate's key
    STAFF_UNKNOWN = "staff-unknown"  # an employee card whose id is not on the signed staff list
    READER_GONE = "reader-gone"


class HolderKind(enum.StrEnum):
    """Who a card belongs to."""

    RESIDENT = "resident"
    STAFF = "staff"


@dataclass(frozen=True, slots=True, repr=False)
class CardHolder:
    """The person an e-ID certificate names: a resident (``personnummer``) or staff (``employee_id``).

    Its ``repr`` shows the kind, the given name and the birth year only, so an accidental log line leaks no
    identity number (SEC-14).
    """

    kind: HolderKind
    given_name: str
    full_name: str
    personnummer: Personnummer | None = None
    employee_id: str | None = None

    @property
    def birth_year(self) -> int | None:
        """The resident's year of birth (the most a screen may show), None for staff."""
        return self.personnummer.birth_year if self.personnummer is not None else None

    def __repr__(self) -> str:
        born = f", born {self.birth_year}" if self.birth_year is not None else ""
        return f"CardHolder({self.kind}, {self.given_name!r}{born})"


def parse_employee_id(text: str) -> str:
    """An employee id (HSA-id style) as written, or `ValueError` with a message that does not repeat it."""
    if not isinstance(text, str) or EMPLOYEE_ID.fullmatch(text.strip()) is None:
        raise ValueError("an employee id is written like SE2321000255-abc123 (SE, the organisation number, '-', id)")
    return text.strip()


def _attribute(name: x509.Name, oid: x509.ObjectIdentifier) -> str | None:
    values = name.get_attributes_for_oid(oid)
    if len(values) > 1:
        raise NotAnEid(f"the certificate's subject has more than one {oid.dotted_string}")
    if not values:
        return None
    value = values[0].value
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def _names(subject: x509.Name) -> tuple[str, str]:
    common = (_attribute(subject, NameOID.COMMON_NAME) or "").strip()
    given = (_attribute(subject, NameOID.GIVEN_NAME) or "").strip()
    surname = (_attribute(subject, NameOID.SURNAME) or "").strip()
    full = common or " ".join(part for part in (given, surname) if part)
    if not full:
        raise NotAnEid("the certificate names nobody (no common name, given name or surname)")
    return (given or full.split()[0])[:64], full[:200]


def card_holder(certificate: x509.Certificate) -> CardHolder:
    """The holder named by a (validated) e-ID authentication certificate; `NotAnEid` when it names none."""
    serial = _attribute(certificate.subject, NameOID.SERIAL_NUMBER)
    if serial is None:
        raise NotAnEid("the certificate's subject has no serialNumber, so it names no person")
    given, full = _names(certificate.subject)
    serial = serial.strip()
    if serial.isascii() and serial.isdigit():
        if len(serial) != 12:
            raise NotAnEid("the certificate's serialNumber is not a 12-digit personnummer")
        try:
            pnr = parse_personnummer(serial)
        except InvalidPersonnummer as exc:
            raise NotAnEid(f"the certificate's personnummer is not valid: {exc}") from None
        return CardHolder(HolderKind.RESIDENT, given, full, personnummer=pnr)
    if EMPLOYEE_ID.fullmatch(serial):
        return CardHolder(HolderKind.STAFF, given, full, employee_id=serial)
    raise NotAnEid("the certificate's serialNumber is neither a personnummer nor an employee id")


def certificate_fingerprint(certificate: x509.Certificate) -> str:
    """The SHA-256 of a certificate's DER, hex: how the staff list names the CAs that issue staff cards."""
    return hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).hexdigest()


def signin_challenge(*, device_id: str, at_ms: int, nonce: bytes, certificate_sha256: bytes) -> bytes:
    """The SHA-256 digest a card signs to start a session: domain, kiosk, moment, nonce and certificate.

    Every input has a fixed length or a length prefix, so no two different inputs hash the same bytes.
    """
    if len(nonce) != NONCE_BYTES:
        raise ValueError(f"the nonce must be {NONCE_BYTES} fresh random bytes")
    if len(certificate_sha256) != 32:
        raise ValueError("certificate_sha256 is a SHA-256 digest")
    device = device_id.encode("utf-8")
    message = b"".join(
        (
            len(CHALLENGE_DOMAIN).to_bytes(2, "big"),
            CHALLENGE_DOMAIN,
            len(device).to_bytes(2, "big"),
            device,
            at_ms.to_bytes(8, "big"),
            nonce,
            certificate_sha256,
        )
    )
    return hashlib.sha256(message).digest()
