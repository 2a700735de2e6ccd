"""Named polls (staff votes, later council "votering"): signed, plain and public by name by design (DESIGN.md
decision 5, docs/decisions.md D77).

A named ballot is the voter's choice in clear: the chosen option indexes, with the poll, the employee id, the
kiosk and the cast time. The staff member's card signs it (`card_signing_bytes`); the kiosk sends it in a
`NamedEnvelope` with the card's certificate and its device signature. The hub puts it on the poll's named board:
every entry hash-chained as on a secret board, but with the name, the certificate and the card's signature, so
that anyone can check from the record alone who voted what (`protocol.ballots.named_verify`). The re-vote rule
is the secret board's (`board.counted_codes`) with the employee id as the voter. Counting is a plain sum: there
is nothing to decrypt and no trustee. docs/verification.md, "Named polls", gives every format.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from cryptography.hazmat.primitives.serialization import Encoding

from protocol import codec
from protocol.ballots import board
from protocol.ballots.poll import PollRules
from protocol.eid import EMPLOYEE_ID

BALLOT_FORMAT = "tinget/named-ballot/v1"
ENVELOPE_FORMAT = "tinget/named-envelope/v1"
CARD_DOMAIN = "tinget/named-ballot/v1/card"
DEVICE_DOMAIN = "tinget/named-envelope/v1/device"
ENTRY_DOMAIN = "tinget/named-board/v1/entry"
GENESIS_DOMAIN = "tinget/named-board/v1/genesis"
RECORD_FORMAT = "tinget/named-record/v1"
MAX_CERTIFICATE_BYTES = 8192
"""A card's DER certificate longer than this is refused (an RSA-2048 e-ID certificate is about 1.5 KB)."""


class NamedBallotError(ValueError):
    """A named ballot or envelope is malformed; the message names the field."""


@dataclass(frozen=True, slots=True)
class NamedBallot:
    """A staff member's plain ballot: the chosen option indexes (ascending), signed by their card."""

    poll_id: str
    employee_id: str
    chosen: tuple[int, ...]
    cast_at: int  # Unix ms, the kiosk's clock
    device_id: str

    def to_json(self) -> dict[str, Any]:
        """The wire form (docs/verification.md, "Named ballot")."""
        return {
            "format": BALLOT_FORMAT,
            "poll": self.poll_id,
            "employee": self.employee_id,
            "chosen": list(self.chosen),
            "cast_at": self.cast_at,
            "device": self.device_id,
        }

    def encoded(self) -> bytes:
        """The canonical bytes (what the tracking code hashes)."""
        return codec.encode(self.to_json())

    @property
    def tracking_hash(self) -> str:
        """SHA-256 of the canonical ballot, hex: the entry's tracking code and the receipt."""
        return hashlib.sha256(self.encoded()).hexdigest()

    @classmethod
    def from_json(cls, data: object, rules: PollRules) -> NamedBallot:
        """Decode and check a named ballot for ``rules``' poll (raises `NamedBallotError`)."""
        keys = {"format", "poll", "employee", "chosen", "cast_at", "device"}
        if not isinstance(data, dict) or set(data) != keys:
            raise NamedBallotError(f"a named ballot has exactly the fields {', '.join(sorted(keys))}")
        if data["format"] != BALLOT_FORMAT:
            raise NamedBallotError("unknown named ballot format")
        if data["poll"] != rules.poll_id:
            raise NamedBallotError("the ballot is for another poll")
        employee, chosen, cast_at, device = data["employee"], data["chosen"], data["cast_at"], data["device"]
        if not isinstance(employee, str) or EMPLOYEE_ID.fullmatch(employee) is None:
            raise NamedBallotError("employee is not an employee id")
        if not isinstance(device, str) or not device:
            raise NamedBallotError("device must be the kiosk's id")
        if type(cast_at) is not int or cast_at < 0:
            raise NamedBallotError("cast_at must be a non-negative integer (Unix milliseconds)")
        if not isinstance(chosen, list) or not all(type(i) is int for i in chosen) or chosen != sorted(set(chosen)):
            raise NamedBallotError("chosen must be option indexes in ascending order, each once")
        if not rules.allows(frozenset(chosen)):
            raise NamedBallotError("the choices are not a valid ballot for this poll")
        return cls(rules.poll_id, employee, tuple(chosen), cast_at, device)


def card_signing_bytes(ballot: NamedBallot) -> bytes:
    """What the staff member's card signs (its SHA-256): the whole ballot under the card domain."""
    return codec.encode({"domain": CARD_DOMAIN, "ballot": ballot.to_json()})


def card_signature_holds(certificate: x509.Certificate, ballot: NamedBallot, signature: bytes) -> bool:
    """Whether ``signature`` is the certificate key's over SHA-256 of `card_signing_bytes` (as a PIV card
    signs: ECDSA P-256, DER, or RSA PKCS#1 v1.5)."""
    digest = hashlib.sha256(card_signing_bytes(ballot)).digest()
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


def read_certificate(text: object) -> x509.Certificate:
    """A card certificate from its DER in hex (`NamedBallotError` when it is not one)."""
    if not isinstance(text, str) or len(text) > 2 * MAX_CERTIFICATE_BYTES:
        raise NamedBallotError("the certificate is not hex DER of a sensible size")
    try:
        return x509.load_der_x509_certificate(bytes.fromhex(text))
    except ValueError:
        raise NamedBallotError("the certificate cannot be read") from None


@dataclass(frozen=True, slots=True)
class NamedEnvelope:
    """A named ballot as a kiosk sends it: the card's certificate (DER, hex: a staff card names no
    personnummer, and it is published anyway), the card's and the device's signatures (hex)."""

    ballot: NamedBallot
    certificate: str
    card_signature: str = ""
    device_signature: str = ""

    @property
    def tracking_hash(self) -> str:
        """The ballot's tracking code."""
        return self.ballot.tracking_hash

    def to_json(self) -> dict[str, Any]:
        """The wire form (docs/verification.md, "Named envelope")."""
        return {
            "format": ENVELOPE_FORMAT,
            "ballot": self.ballot.to_json(),
            "certificate": self.certificate,
            "card_signature": self.card_signature,
            "device_signature": self.device_signature,
        }

    @classmethod
    def from_json(cls, data: object, rules: PollRules) -> NamedEnvelope:
        """Decode a received named envelope (raises `NamedBallotError`)."""
        keys = {"format", "ballot", "certificate", "card_signature", "device_signature"}
        if not isinstance(data, dict) or set(data) != keys or data["format"] != ENVELOPE_FORMAT:
            raise NamedBallotError(f"a named envelope has exactly the fields {', '.join(sorted(keys))}")
        for name in ("certificate", "card_signature", "device_signature"):
            if not isinstance(data[name], str):
                raise NamedBallotError(f"{name} must be text")
        ballot = NamedBallot.from_json(data["ballot"], rules)
        return cls(ballot, data["certificate"], data["card_signature"], data["device_signature"])


def device_signing_bytes(envelope: NamedEnvelope) -> bytes:
    """What the kiosk's device key signs: every field of the envelope but the device signature."""
    unsigned = replace(envelope, device_signature="").to_json()
    del unsigned["device_signature"]
    return codec.encode({"domain": DEVICE_DOMAIN, "envelope": unsigned})


def verify_device_signature(public_key: ec.EllipticCurvePublicKey, envelope: NamedEnvelope) -> bool:
    """True when ``device_signature`` is the device's ECDSA P-256/SHA-256 (DER, hex) over `device_signing_bytes`."""
    if not isinstance(public_key.curve, ec.SECP256R1):
        return False
    try:
        public_key.verify(
            bytes.fromhex(envelope.device_signature), device_signing_bytes(envelope), ec.ECDSA(hashes.SHA256())
        )
    except (ValueError, InvalidSignature):
        return False
    return True


def genesis(poll_id: str) -> str:
    """The ``prev`` of a named board's first entry (its own domain: a named board cannot pass for a secret one)."""
    return hashlib.sha256(codec.encode({"domain": GENESIS_DOMAIN, "poll": poll_id})).hexdigest()


@dataclass(frozen=True, slots=True)
class NamedEntry:
    """One received named ballot on the board. Accepted: ``ballot``, ``certificate`` and ``signature`` set,
    ``voter`` the employee id and ``name`` the certificate's name. Rejected: ``reason`` says why; ``voter`` is
    the employee id the ballot claimed (when it could be read), nothing else is published."""

    seq: int
    prev: str
    tracking: str
    voter: str | None
    name: str | None
    cast_at: int | None
    ballot: NamedBallot | None
    certificate: str | None
    signature: str | None
    reason: str | None

    @property
    def accepted(self) -> bool:
        """True when the ballot was accepted (it then counts or is superseded)."""
        return self.reason is None

    def chained_json(self) -> dict[str, Any]:
        """The fields the entry's hash covers."""
        return {
            "seq": self.seq,
            "prev": self.prev,
            "tracking": self.tracking,
            "voter": self.voter,
            "name": self.name,
            "cast_at": self.cast_at,
            "ballot": None if self.ballot is None else self.ballot.to_json(),
            "certificate": self.certificate,
            "signature": self.signature,
            "reason": self.reason,
        }

    @property
    def hash(self) -> str:
        """SHA-256 of the canonical ``{"domain": ENTRY_DOMAIN, …chained fields}``."""
        return entry_hash(self.chained_json())

    def to_json(self, status: str) -> dict[str, Any]:
        """The published form: the chained fields, the hash and the status."""
        return {**self.chained_json(), "hash": self.hash, "status": status}


def accepted(seq: int, prev: str, envelope: NamedEnvelope, name: str) -> NamedEntry:
    """The entry for a named ballot whose envelope, card and voter the hub has checked."""
    ballot = envelope.ballot
    return NamedEntry(
        seq,
        prev,
        ballot.tracking_hash,
        ballot.employee_id,
        name,
        ballot.cast_at,
        ballot,
        envelope.certificate,
        envelope.card_signature,
        None,
    )


def rejected(
    seq: int, prev: str, tracking: str, reason: str, voter: str | None = None, cast_at: int | None = None
) -> NamedEntry:
    """The entry for a named ballot the hub refused: only the claimed employee id, the time and the reason."""
    if not reason:
        raise ValueError("a rejected ballot needs a reason")
    return NamedEntry(seq, prev, tracking, voter, None, cast_at, None, None, None, reason)


def entry_hash(chained: dict[str, Any]) -> str:
    """The hash of a named entry's chained fields."""
    return hashlib.sha256(codec.encode({"domain": ENTRY_DOMAIN, **chained})).hexdigest()


def statuses(entries: list[NamedEntry], rule: str) -> list[str]:
    """Each entry's status under the poll's re-vote rule, one counted ballot per employee id."""
    casts = (board.Cast(e.voter or "", e.cast_at or 0, e.tracking) for e in entries if e.accepted)
    counted = board.counted_codes(casts, rule)
    return [
        board.REJECTED if not e.accepted else board.COUNTED if e.tracking in counted else board.SUPERSEDED
        for e in entries
    ]


def counts_of(rules: PollRules, ballots: list[NamedBallot]) -> tuple[int, ...]:
    """The plain sum: for each option, how many of ``ballots`` chose it."""
    counts = [0] * len(rules.options)
    for ballot in ballots:
        for index in ballot.chosen:
            counts[index] += 1
    return tuple(counts)


def header_line(rules: PollRules, roles: tuple[str, ...], issuers: list[x509.Certificate]) -> dict[str, Any]:
    """The record's first line: the poll, the staff roles that may vote, the CAs whose cards were accepted."""
    return {
        "type": "named-poll",
        "format": RECORD_FORMAT,
        "poll": rules.to_json(),
        "roles": sorted(roles),
        "issuers": sorted(c.public_bytes(Encoding.DER).hex() for c in issuers),
    }


def record_lines(
    rules: PollRules, roles: tuple[str, ...], issuers: list[x509.Certificate], entries: list[NamedEntry]
) -> list[bytes]:
    """The named poll's record, line by line (canonical JSON and ``\\n``): header, entries, tally."""
    lines = [codec.encode(header_line(rules, roles, issuers)) + b"\n"]
    states = statuses(entries, rules.revote)
    for entry, status in zip(entries, states, strict=True):
        lines.append(codec.encode({"type": "entry", **entry.to_json(status)}) + b"\n")
    counted = [e.ballot for e, s in zip(entries, states, strict=True) if s == board.COUNTED and e.ballot]
    head = entries[-1].hash if entries else genesis(rules.poll_id)
    result = {"counts": list(counts_of(rules, counted)), "counted": len(counted)}
    tally = {"type": "tally", "head": head, "entries": len(entries), "result": result}
    lines.append(codec.encode(tally) + b"\n")
    return lines
