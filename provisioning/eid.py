"""A test e-ID issuer for tests and the demo: its CAs, its revocation lists and the cards it issues.

Real e-ID cards come from their issuers (the state e-ID card, SITHS); the hub is configured with those
issuers' CA certificates and revocation lists. This module plays such an issuer, so that tests and `make demo`
go through exactly the checks a real card meets. Layout of a test CA directory (keys 0600)::

    <dir>/root.pem  root.key          the issuer's root CA
    <dir>/issuing.pem  issuing.key    the CA that signs cards
    <dir>/chain.pem                   issuing + root: the hub's ``eid_ca_file``
    <dir>/crl/root.crl  issuing.crl   PEM CRLs, re-signed on every change: the hub's ``eid_crl_dir``
    <dir>/revoked.json                the revoked card serials, and the CRL number

Card certificates follow the profile of `protocol.eid`: the subject's serialNumber is the personnummer (a
resident) or the employee id (staff); key usage digitalSignature; extended key usage clientAuth.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from protocol.eid import parse_employee_id
from protocol.identity import parse_personnummer
from protocol.testcard import CardFile, read_test_card, write_test_card
from provisioning import pem
from provisioning.pki import PkiError, Step

BACKDATE = dt.timedelta(minutes=5)
ROOT_DAYS = 20 * 365
ISSUING_DAYS = 10 * 365
CARD_DAYS = 5 * 365
CRL_DAYS = 7  # a real issuer publishes more often; a week keeps a resting demo working


@dataclass(frozen=True)
class IssuerLayout:
    """The paths inside a test CA directory (see the module docstring)."""

    root: Path

    @property
    def root_cert(self) -> Path:
        return self.root / "root.pem"

    @property
    def root_key(self) -> Path:
        return self.root / "root.key"

    @property
    def issuing_cert(self) -> Path:
        return self.root / "issuing.pem"

    @property
    def issuing_key(self) -> Path:
        return self.root / "issuing.key"

    @property
    def chain(self) -> Path:
        return self.root / "chain.pem"

    @property
    def crl_dir(self) -> Path:
        return self.root / "crl"

    @property
    def revoked_file(self) -> Path:
        return self.root / "revoked.json"


@dataclass(frozen=True)
class IssuedCard:
    """What `issue_card` made: the card file, its certificate's serial and validity."""

    path: Path
    serial: int
    not_after: dt.datetime
    holder: str


def _name(common_name: str, organisation: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "SE"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _ca_usage() -> x509.KeyUsage:
    return x509.KeyUsage(False, False, False, False, False, True, True, False, False)


def _ski(public_key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey) -> x509.SubjectKeyIdentifier:
    return x509.SubjectKeyIdentifier.from_public_key(public_key)


def _aki(issuer: x509.Certificate) -> x509.AuthorityKeyIdentifier:
    ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)


def _build_ca(
    subject: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Certificate | None,
    issuer_key: ec.EllipticCurvePrivateKey,
    *,
    now: dt.datetime,
    days: int,
    path_length: int,
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.subject if issuer is not None else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(_ca_usage(), critical=True)
        .add_extension(_ski(key.public_key()), critical=False)
    )
    if issuer is not None:
        builder = builder.add_extension(_aki(issuer), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _load_or_make_key(path: Path) -> ec.EllipticCurvePrivateKey:
    if path.exists():
        return pem.read_key(path)
    key = ec.generate_private_key(ec.SECP256R1())
    pem.write_new(path, pem.key_bytes(key), pem.KEY_MODE)
    return key


def _read_revoked(layout: IssuerLayout) -> dict[str, object]:
    if not layout.revoked_file.exists():
        return {"version": 1, "crl_number": 0, "revoked": []}
    try:
        document = json.loads(layout.revoked_file.read_text(encoding="utf-8"))
        int(document["crl_number"])
        list(document["revoked"])
    except (ValueError, KeyError, TypeError) as exc:
        raise PkiError(f"{layout.revoked_file} is not valid ({exc}); restore it") from None
    return dict(document)


def _crl(
    issuer: x509.Certificate,
    key: ec.EllipticCurvePrivateKey,
    serials: list[tuple[int, dt.datetime]],
    number: int,
    now: dt.datetime,
    days: int,
) -> x509.CertificateRevocationList:
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.subject)
        .last_update(now - BACKDATE)
        .next_update(now + dt.timedelta(days=days))
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(_aki(issuer), critical=False)
    )
    for serial, when in serials:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when).build()
        )
    return builder.sign(key, hashes.SHA256())


def write_crls(directory: Path, *, now: dt.datetime | None = None, days: int = CRL_DAYS) -> list[Path]:
    """Sign fresh CRLs of the root (no CA revoked) and of the issuing CA (the revoked cards); their paths."""
    layout, now = IssuerLayout(Path(directory)), now or dt.datetime.now(dt.UTC)
    root, issuing = pem.read_cert(layout.root_cert), pem.read_cert(layout.issuing_cert)
    root_key, issuing_key = pem.read_key(layout.root_key), pem.read_key(layout.issuing_key)
    document = _read_revoked(layout)
    number = int(document["crl_number"]) + 1  # type: ignore[call-overload]  # checked in _read_revoked
    revoked = [
        (int(entry["serial"], 16), dt.datetime.fromisoformat(entry["revoked_at"]))
        for entry in document["revoked"]  # type: ignore[attr-defined]
    ]
    layout.crl_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, cert, key, serials in (("root", root, root_key, []), ("issuing", issuing, issuing_key, revoked)):
        crl = _crl(cert, key, serials, number, now, days)
        path = layout.crl_dir / f"{name}.crl"
        pem.replace(path, crl.public_bytes(serialization.Encoding.PEM), pem.CERT_MODE)
        written.append(path)
    document["crl_number"] = number
    pem.replace(layout.revoked_file, (json.dumps(document, indent=2) + "\n").encode(), pem.CERT_MODE)
    return written


def _ensure_ca(what: str, path: Path, make: Callable[[], x509.Certificate], steps: list[Step]) -> x509.Certificate:
    """The CA certificate at ``path``, made (and written) first if it is not there; the step is recorded."""
    if path.exists():
        certificate = pem.read_cert(path)
        steps.append(Step(what, path, "reused", certificate.not_valid_after_utc))
        return certificate
    certificate = make()
    pem.write_new(path, pem.cert_bytes(certificate), pem.CERT_MODE)
    steps.append(Step(what, path, "created", certificate.not_valid_after_utc))
    return certificate


def ensure_test_ca(
    directory: Path, *, organisation: str = "Tinget Test e-ID", now: dt.datetime | None = None
) -> list[Step]:
    """Create what is missing of the test issuer's root and issuing CA and chain; re-sign its CRLs."""
    layout, now = IssuerLayout(Path(directory)), now or dt.datetime.now(dt.UTC)
    steps: list[Step] = []
    root_key = _load_or_make_key(layout.root_key)
    root = _ensure_ca(
        "e-ID root CA",
        layout.root_cert,
        lambda: _build_ca(
            _name(f"{organisation} Root CA", organisation), root_key, None, root_key, now=now, days=ROOT_DAYS,
            path_length=1,
        ),
        steps,
    )  # fmt: skip
    issuing_key = _load_or_make_key(layout.issuing_key)
    issuing = _ensure_ca(
        "e-ID card CA",
        layout.issuing_cert,
        lambda: _build_ca(
            _name(f"{organisation} Card CA 1", organisation), issuing_key, root, root_key, now=now,
            days=ISSUING_DAYS, path_length=0,
        ),
        steps,
    )  # fmt: skip
    if issuing.public_key() != issuing_key.public_key() or root.public_key() != root_key.public_key():
        raise PkiError(f"the certificates in {layout.root} do not match their keys; restore the pairs")
    pem.replace(layout.chain, pem.cert_bytes(issuing, root), pem.CERT_MODE)
    write_crls(directory, now=now)
    return steps


def _card_subject(name: str, serial_number: str) -> x509.Name:
    given, _, surname = name.strip().partition(" ")
    attributes = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "SE"),
        x509.NameAttribute(NameOID.SERIAL_NUMBER, serial_number),
        x509.NameAttribute(NameOID.GIVEN_NAME, given),
    ]
    if surname:
        attributes.append(x509.NameAttribute(NameOID.SURNAME, surname))
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, name.strip()))
    return x509.Name(attributes)


def issue_card(
    directory: Path,
    out: Path,
    *,
    name: str,
    pin: str,
    personnummer: str | None = None,
    employee_id: str | None = None,
    rsa_key: bool = False,
    days: int = CARD_DAYS,
    expired: bool = False,
    pin_tries: int = 3,
    label: str | None = None,
    now: dt.datetime | None = None,
) -> IssuedCard:
    """Issue a test card for a resident (``personnummer``) or a staff member (``employee_id``) into ``out``.

    ``expired`` issues a certificate whose validity ended a month ago (to show the refusal).
    """
    layout, now = IssuerLayout(Path(directory)), now or dt.datetime.now(dt.UTC)
    if (personnummer is None) == (employee_id is None):
        raise PkiError("give exactly one of --personnummer (a resident) and --employee-id (staff)")
    if not name.strip():
        raise PkiError("a card needs the holder's name")
    try:
        serial_number = (
            parse_personnummer(personnummer).canonical() if personnummer is not None else parse_employee_id(employee_id)  # type: ignore[arg-type]
        )
    except ValueError as exc:
        raise PkiError(str(exc)) from None
    if not (layout.issuing_cert.exists() and layout.issuing_key.exists()):
        raise PkiError(f"no test e-ID CA in {layout.root}; run `tinget provision test-ca --dir {layout.root}`")
    issuing, issuing_key = pem.read_cert(layout.issuing_cert), pem.read_key(layout.issuing_key)
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if rsa_key
        else ec.generate_private_key(ec.SECP256R1())
    )
    start = now - dt.timedelta(days=400) if expired else now - BACKDATE
    end = now - dt.timedelta(days=30) if expired else now + dt.timedelta(days=days)
    usage = x509.KeyUsage(True, False, False, False, False, False, False, False, False)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_card_subject(name, serial_number))
        .issuer_name(issuing.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(_ski(key.public_key()), critical=False)
        .add_extension(_aki(issuing), critical=False)
        .sign(issuing_key, hashes.SHA256())
    )
    card = CardFile(
        label=label or out.stem,
        pin=pin,
        pin_tries=pin_tries,
        key_pem=key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
        certificate_pem=cert.public_bytes(serialization.Encoding.PEM),
    )
    write_test_card(out, card)
    return IssuedCard(out, cert.serial_number, cert.not_valid_after_utc, name.strip())


def revoke_card(directory: Path, card_file: Path, *, now: dt.datetime | None = None) -> bool:
    """Put the card's certificate on the issuing CA's CRL and re-sign it; False if it was already there."""
    layout, now = IssuerLayout(Path(directory)), now or dt.datetime.now(dt.UTC)
    try:
        cert = read_test_card(card_file).certificate()
    except ValueError as exc:
        raise PkiError(str(exc)) from None
    issuing = pem.read_cert(layout.issuing_cert)
    try:
        # By signature, not by name: every test CA of the same organisation has the same names.
        cert.verify_directly_issued_by(issuing)
    except (ValueError, TypeError, InvalidSignature):
        raise PkiError(f"{card_file} was not issued by the test CA in {layout.root}") from None
    document = _read_revoked(layout)
    serial = format(cert.serial_number, "x")
    entries: list[dict[str, str]] = list(document["revoked"])  # type: ignore[call-overload]
    if any(entry["serial"] == serial for entry in entries):
        return False
    entries.append({"serial": serial, "label": card_file.stem, "revoked_at": now.isoformat(timespec="seconds")})
    document["revoked"] = entries
    pem.replace(layout.revoked_file, (json.dumps(document, indent=2) + "\n").encode(), pem.CERT_MODE)
    write_crls(directory, now=now)
    return True
