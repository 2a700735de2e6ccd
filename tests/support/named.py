"""Named ballots for tests: more staff cards from the test issuer, and envelopes signed the way a kiosk and a
staff card sign them (`protocol.ballots.named`)."""

from __future__ import annotations

import dataclasses

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from protocol.ballots import named
from protocol.ballots.named import NamedBallot, NamedEnvelope
from protocol.eid import card_holder
from protocol.testcard import CardFile, read_test_card
from tests.support.eid import CARDS, EMPLOYEE_ID, PIN, Issuer

# Staff beside `EMPLOYEE_ID` (Karin Karlsson, card "staff"): employee id and name.
STAFF = {
    "staff": (EMPLOYEE_ID, str(CARDS["staff"]["name"])),
    "olle": ("SE2321000255-test02", "Olle Olsson"),
    "petra": ("SE2321000255-test03", "Petra Persson"),
}


def staff_card(issuer: Issuer, name: str) -> CardFile:
    """The card of staff member ``name`` of `STAFF` (issued by the test issuer on first use)."""
    if name == "staff":
        return issuer.card("staff")
    path = issuer.root / "named-cards" / f"{name}.json"
    if not path.exists():
        from provisioning.eid import issue_card

        path.parent.mkdir(exist_ok=True)
        employee_id, full_name = STAFF[name]
        issue_card(issuer.ca_dir, path, name=full_name, pin=PIN, employee_id=employee_id, label=name)
    return read_test_card(path)


def card_sign(card: CardFile, data: bytes) -> bytes:
    """What the card does: sign SHA-256 of ``data``."""
    key = card.private_key()
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    return key.sign(data, ec.ECDSA(hashes.SHA256()))


def signed_envelope(
    card: CardFile,
    poll_id: str,
    chosen: tuple[int, ...],
    cast_at: int,
    device_key: ec.EllipticCurvePrivateKey,
    device_id: str = "ange",
    employee_id: str | None = None,
) -> NamedEnvelope:
    """A complete named envelope: the card signs the ballot, the device the envelope."""
    holder_id = employee_id or card_holder(card.certificate()).employee_id or ""
    ballot = NamedBallot(poll_id, holder_id, chosen, cast_at, device_id)
    der = card.certificate().public_bytes(serialization.Encoding.DER)
    envelope = NamedEnvelope(ballot, der.hex(), card_sign(card, named.card_signing_bytes(ballot)).hex())
    return device_sign(envelope, device_key)


def device_sign(envelope: NamedEnvelope, device_key: ec.EllipticCurvePrivateKey) -> NamedEnvelope:
    """The device's signature made (again) over ``envelope``."""
    unsigned = dataclasses.replace(envelope, device_signature="")
    signature = device_key.sign(named.device_signing_bytes(unsigned), ec.ECDSA(hashes.SHA256()))
    return dataclasses.replace(envelope, device_signature=signature.hex())
