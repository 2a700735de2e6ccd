"""The double envelope: the inner ballot (anonymous, published) inside an outer envelope that says who may have
cast it (the voter's per-poll pseudonym), where and when (the kiosk's context), with the card's signature over
the ballot's hash and that context, and the kiosk's device signature over everything.

This module only defines the fields and the exact bytes each party signs; signing happens on the card and with
the device key. `verify_device_signature` checks a kiosk's ECDSA P-256 signature. The outer envelope never
reaches the bulletin board: the hub checks it, records the ballot and its status, and keeps the envelope away
from the published record (the board shows the pseudonym, never the certificate).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from protocol import codec
from protocol.ballots.ballot import Ballot, ballot_problem, tracking_hash
from protocol.ballots.group import Point
from protocol.ballots.poll import PollRules

ENVELOPE_FORMAT = "tinget/envelope/v1"
CARD_DOMAIN = "tinget/envelope/v1/card"
DEVICE_DOMAIN = "tinget/envelope/v1/device"
_FIELDS = {
    "format",
    "ballot",
    "pseudonym",
    "device",
    "cast_at",
    "card_signature",
    "sealed_certificate",
    "device_signature",
}


class EnvelopeError(ValueError):
    """An envelope is malformed; the message names the field."""


@dataclass(frozen=True, slots=True)
class Envelope:
    """The outer envelope as a kiosk sends it. Signatures and the sealed certificate are hex strings."""

    ballot: Ballot
    pseudonym: str
    device_id: str
    cast_at: int
    card_signature: str = ""
    sealed_certificate: str = ""
    device_signature: str = ""

    @property
    def tracking_hash(self) -> str:
        """The inner ballot's tracking code (full hash)."""
        return self.ballot.tracking_hash

    def to_json(self) -> dict[str, Any]:
        """The wire form (docs/verification.md, "Envelope")."""
        return {
            "format": ENVELOPE_FORMAT,
            "ballot": self.ballot.to_json(),
            "pseudonym": self.pseudonym,
            "device": self.device_id,
            "cast_at": self.cast_at,
            "card_signature": self.card_signature,
            "sealed_certificate": self.sealed_certificate,
            "device_signature": self.device_signature,
        }

    @classmethod
    def from_json(cls, data: object, rules: PollRules) -> Envelope:
        """Decode a received envelope for ``rules``' poll (raises `EnvelopeError` or `BallotError`)."""
        if not isinstance(data, dict) or set(data) != _FIELDS:
            raise EnvelopeError(f"an envelope has exactly the fields {', '.join(sorted(_FIELDS))}")
        if data["format"] != ENVELOPE_FORMAT:
            raise EnvelopeError("unknown envelope format")
        for name in ("pseudonym", "device", "card_signature", "sealed_certificate", "device_signature"):
            if not isinstance(data[name], str):
                raise EnvelopeError(f"{name} must be text")
        if not isinstance(data["cast_at"], int) or isinstance(data["cast_at"], bool) or data["cast_at"] < 0:
            raise EnvelopeError("cast_at must be a non-negative integer (Unix milliseconds)")
        return cls(
            Ballot.from_json(data["ballot"], rules),
            data["pseudonym"],
            data["device"],
            data["cast_at"],
            data["card_signature"],
            data["sealed_certificate"],
            data["device_signature"],
        )


def card_signing_bytes(envelope: Envelope) -> bytes:
    """What the voter's card signs: the ballot's hash bound to the poll, the pseudonym and the kiosk's context."""
    return codec.encode(
        {
            "domain": CARD_DOMAIN,
            "poll": envelope.ballot.poll_id,
            "ballot": tracking_hash(envelope.ballot.encoded()),
            "pseudonym": envelope.pseudonym,
            "device": envelope.device_id,
            "cast_at": envelope.cast_at,
        }
    )


def device_signing_bytes(envelope: Envelope) -> bytes:
    """What the kiosk's device key signs: every field of the envelope but the device signature itself."""
    unsigned = replace(envelope, device_signature="").to_json()
    del unsigned["device_signature"]
    return codec.encode({"domain": DEVICE_DOMAIN, "envelope": unsigned})


def verify_device_signature(public_key: ec.EllipticCurvePublicKey, envelope: Envelope) -> bool:
    """True when ``device_signature`` is the device's ECDSA P-256/SHA-256 (DER, hex) over `device_signing_bytes`."""
    if not isinstance(public_key.curve, ec.SECP256R1):
        return False
    try:
        signature = bytes.fromhex(envelope.device_signature)
        public_key.verify(signature, device_signing_bytes(envelope), ec.ECDSA(hashes.SHA256()))
    except (ValueError, InvalidSignature):
        return False
    return True


def envelope_problem(
    rules: PollRules, key: Point, envelope: Envelope, device_key: ec.EllipticCurvePublicKey
) -> str | None:
    """The hub's cryptographic checks of a received envelope, as a reason to reject it, or None when they hold:
    the kiosk's device signature, then every proof of the inner ballot. The card's signature over
    `card_signing_bytes` is checked by the caller against the voter's certificate (the e-ID layer), as are the
    roll, the poll's schedule and the re-vote rule.
    """
    if envelope.ballot.poll_id != rules.poll_id:
        return "the ballot is for another poll"
    if not verify_device_signature(device_key, envelope):
        return "the kiosk's signature does not hold"
    return ballot_problem(rules, key, envelope.ballot)
