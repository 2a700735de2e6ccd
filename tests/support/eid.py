"""A test e-ID issuer with its cards, and the trust a kiosk would hold for it: shared by the kiosk and e2e tests.

`make_issuer(root)` creates (with `provisioning.eid`, the same code as `tinget provision test-ca/test-card`) a
test issuer, a foreign one the kiosk does not trust, and these cards, all with PIN `PIN`:

- ``anna``: a valid resident card (P-256), ``rut``: a valid resident card (RSA-2048),
- ``staff``: a staff card with employee id `EMPLOYEE_ID`,
- ``revoked``: on the issuer's revocation list, ``expired``: validity ended, ``foreign``: from the foreign issuer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509

from kiosk.card.model import PivCardModel, model_from_file
from protocol.chain import split_anchors
from protocol.eid import certificate_fingerprint
from protocol.eid_validation import EidTrust
from protocol.testcard import CardFile, read_test_card

PIN = "80914657"  # distinctive, so scanners can look for it in logs and databases
ANNA_PERSONNUMMER = "19850412-2386"
RUT_PERSONNUMMER = "19901123-9622"
EMPLOYEE_ID = "SE2321000255-test01"
CARDS = {
    "anna": {"name": "Anna Andersson", "personnummer": ANNA_PERSONNUMMER},
    "rut": {"name": "Rut Rsa", "personnummer": RUT_PERSONNUMMER, "rsa_key": True},
    "staff": {"name": "Karin Karlsson", "employee_id": EMPLOYEE_ID},
    "revoked": {"name": "Bertil Berg", "personnummer": "19720305-4577"},
    "expired": {"name": "Cecilia Carlsson", "personnummer": "19901123-9622", "expired": True},
    "foreign": {"name": "David Dahl", "personnummer": "19640730-3186"},
}


@dataclass(frozen=True)
class Issuer:
    """The issuer's folder, the foreign issuer's, and the card files."""

    root: Path

    @property
    def ca_dir(self) -> Path:
        return self.root / "ca"

    @property
    def foreign_dir(self) -> Path:
        return self.root / "foreign"

    def card_path(self, name: str) -> Path:
        return self.root / "cards" / f"{name}.json"

    def card(self, name: str) -> CardFile:
        return read_test_card(self.card_path(name))

    def model(self, name: str, **options: Any) -> PivCardModel:
        """A fresh in-memory card for card file ``name``."""
        return model_from_file(self.card(name), **options)

    def certificates(self) -> list[x509.Certificate]:
        return x509.load_pem_x509_certificates((self.ca_dir / "chain.pem").read_bytes())

    def crls(self) -> list[x509.CertificateRevocationList]:
        return [x509.load_pem_x509_crl(path.read_bytes()) for path in sorted((self.ca_dir / "crl").iterdir())]

    def trust(self, *, staff_roles: dict[str, tuple[str, ...]] | None = None, crls: bool = True) -> EidTrust:
        """What a kiosk holding this issuer's trust set knows (optionally without its lists)."""
        roots, intermediates = split_anchors(self.certificates())
        return EidTrust(
            tuple(roots),
            tuple(intermediates),
            tuple(self.crls()) if crls else (),
            staff_roles if staff_roles is not None else {EMPLOYEE_ID: ("registrar", "staff")},
            frozenset({certificate_fingerprint(self.issuing_ca())}),
            dt.datetime.now(dt.UTC) + dt.timedelta(days=8),
        )

    def issuing_ca(self) -> x509.Certificate:
        """The CA that signs this issuer's cards (staff cards included)."""
        return x509.load_pem_x509_certificate((self.ca_dir / "issuing.pem").read_bytes())

    def trust_content(self) -> dict[str, Any]:
        """The ``eid`` part of a trust set for this issuer, as the hub builds it."""
        return {
            "eid": {
                "certificates": [(self.ca_dir / "chain.pem").read_text()],
                "crls": [path.read_text() for path in sorted((self.ca_dir / "crl").iterdir())],
            }
        }


def make_issuer(root: Path, now: dt.datetime | None = None) -> Issuer:
    """Create the test issuer, the foreign issuer and every card in `CARDS` under ``root``."""
    from provisioning.eid import ensure_test_ca, issue_card, revoke_card

    issuer = Issuer(root)
    ensure_test_ca(issuer.ca_dir, now=now)
    ensure_test_ca(issuer.foreign_dir, organisation="Foreign e-ID", now=now)
    for name, spec in CARDS.items():
        ca = issuer.foreign_dir if name == "foreign" else issuer.ca_dir
        issue_card(ca, issuer.card_path(name), pin=PIN, label=name, now=now, **spec)  # type: ignore[arg-type]
    revoke_card(issuer.ca_dir, issuer.card_path("revoked"), now=now)
    return issuer


def signed_staff_list(pki: Any, members: dict[str, list[str]], issuer: Issuer) -> dict[str, Any]:
    """The staff list as the hub signs it, with the hub client key of a test ``pki`` (`provisioning.pki`), for
    staff cards from ``issuer``'s card CA, valid for a week."""
    from cryptography.hazmat.primitives import serialization

    from protocol.eid import STAFF_LIST_PURPOSE
    from protocol.signed import sign_document

    key = serialization.load_pem_private_key(pki.hub_client.key_file.read_bytes(), password=None)
    certificate = x509.load_pem_x509_certificate(pki.hub_client.cert_file.read_bytes())
    now = int(dt.datetime.now(dt.UTC).timestamp() * 1000)
    content = {
        "members": members,
        "issuers": [certificate_fingerprint(issuer.issuing_ca())],
        "issued_at": now,
        "expires_at": now + 7 * 24 * 3600 * 1000,
    }
    return sign_document(content, STAFF_LIST_PURPOSE, key, certificate)  # type: ignore[arg-type]


def store_trust_set(engine: Any, content: dict[str, Any], *, version: int = 1) -> None:
    """Put a trust set into a kiosk database as if the sync agent had fetched it from the hub."""
    store_set(engine, "trust", content, version=version)


def store_set(engine: Any, name: str, content: dict[str, Any], *, version: int = 1) -> None:
    """Put set ``name`` into a kiosk database as if the sync agent had fetched it from the hub."""
    import hashlib

    from kiosk.replica import ReplicaRow
    from kiosk.store import make_session_factory
    from protocol import codec

    body = codec.encode({"content": content, "schema": 1, "set": name})
    digest = hashlib.sha256(body).hexdigest()
    with make_session_factory(engine).begin() as session:
        session.merge(
            ReplicaRow(
                name=name,
                version=version,
                sha256=digest,
                body=body,
                fetched_at=dt.datetime.now(dt.UTC),
                announced_version=version,
                announced_sha256=digest,
                announced_url=f"/device/v1/sets/{name}?version={version}",
            )
        )


def make_crl(
    issuer: Issuer,
    *,
    revoked: tuple[int, ...] = (),
    delta: bool = False,
    partial: bool = False,
    issued_at: dt.datetime | None = None,
    next_update: dt.datetime | None = None,
    number: int = 1000,
) -> x509.CertificateRevocationList:
    """A list signed by ``issuer``'s card CA: complete by default, or a delta or a partial (IDP) one."""
    from cryptography.hazmat.primitives import hashes

    from provisioning import pem

    issued_at = issued_at or dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    ca = issuer.issuing_ca()
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.subject)
        .last_update(issued_at)
        .next_update(next_update or issued_at + dt.timedelta(days=1))
        .add_extension(x509.CRLNumber(number), critical=False)
    )
    if delta:
        builder = builder.add_extension(x509.DeltaCRLIndicator(number - 1), critical=True)
    if partial:
        scope = x509.IssuingDistributionPoint(None, None, False, True, None, False, False)
        builder = builder.add_extension(scope, critical=True)
    for serial in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(issued_at).build()
        )
    return builder.sign(pem.read_key(issuer.ca_dir / "issuing.key"), hashes.SHA256())
