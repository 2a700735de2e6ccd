"""Reading the PKI files the trust set and the device API rely on: the CA chain and the revocation list, and
the e-ID issuers' CA certificates and revocation lists (``eid_ca_file``, ``eid_crl_dir``).

The revocation list is provisioning's ``revoked.json`` (``{"version": 1, "revoked": [{"device": id, …}]}``);
the hub reads the file format, never the provisioning package. A missing list means nothing is revoked yet
(provisioning writes it at the first revocation); an unreadable or malformed one is a `TrustError`, and callers
fail closed.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from hub.sets.content import TrustMaterial
from protocol import topics
from protocol.chain import complete_crl_problem

_PEM_CERT = re.compile(r"-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+?-----END CERTIFICATE-----")


class TrustError(Exception):
    """A CA chain or revocation list cannot be read; the message names the file and the problem."""


def read_ca_chain(path: Path) -> tuple[str, ...]:
    """The certificates of a PEM chain file, each as one PEM block ending in a newline."""
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise TrustError(f"CA chain {path} cannot be read: {exc}") from None
    blocks = tuple(match.group(0).replace("\r\n", "\n") + "\n" for match in _PEM_CERT.finditer(text))
    if not blocks:
        raise TrustError(f"CA chain {path} holds no PEM certificate")
    return blocks


def read_revoked(path: Path) -> frozenset[str]:
    """The revoked device ids listed in ``path`` (empty if the file does not exist yet)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return frozenset()
    except OSError as exc:
        raise TrustError(f"revocation list {path} cannot be read: {exc.strerror}") from None
    try:
        entries = json.loads(raw)["revoked"]
        devices = frozenset(str(entry["device"]) for entry in entries)
    except (ValueError, KeyError, TypeError) as exc:
        raise TrustError(f"revocation list {path} is not valid ({exc.__class__.__name__}: {exc})") from None
    for device in devices:
        if topics.SLUG.fullmatch(device) is None:
            raise TrustError(f"revocation list {path} names an invalid device id {device[:80]!r}")
    return devices


MAX_CRL_BYTES = 16 * 1024 * 1024  # a national issuer's list is a few MB; the whole set must stay under 32 MB
CLOCK_SKEW = dt.timedelta(minutes=5)


def read_eid_certificates(path: Path) -> tuple[str, ...]:
    """The e-ID issuers' CA certificates in ``path`` (PEM), each checked to be a CA certificate."""
    blocks = read_ca_chain(path)
    for block in blocks:
        try:
            certificate = x509.load_pem_x509_certificate(block.encode("ascii"))
            is_ca = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        except (ValueError, x509.ExtensionNotFound):
            is_ca = False
        if not is_ca:
            raise TrustError(f"e-ID CA file {path} holds a certificate that is not a CA certificate")
    return blocks


def crl_problem(crl: x509.CertificateRevocationList, now: dt.datetime) -> str | None:
    """Why a genuine, signed list is still not one to publish, or None: a delta or partial list (kiosks need
    the complete one), a list issued in the future, or one already past its next update."""
    problem = complete_crl_problem(crl)
    if problem is not None:
        return problem
    if crl.last_update_utc > now + CLOCK_SKEW:
        return f"it says it was issued in the future ({crl.last_update_utc:%Y-%m-%d %H:%M} UTC)"
    if crl.next_update_utc is None or crl.next_update_utc < now:
        return "it is already past its next update (an old list)"
    return None


def read_eid_crls(directory: Path, authorities: Sequence[x509.Certificate] = ()) -> tuple[str, ...]:
    """Every revocation list (PEM or DER, ``*.crl`` or ``*.pem``) in ``directory``, as PEM, sorted by file name.

    With ``authorities`` (the e-ID CA certificates), each list must be signed by one of them and be a complete,
    current list (`crl_problem`): a stray or wrong file stops the publication with its name, rather than
    reaching the kiosks.
    """
    if not directory.is_dir():
        raise TrustError(f"e-ID revocation list folder {directory} does not exist")
    crls = []
    for path in sorted(p for p in directory.iterdir() if p.suffix in (".crl", ".pem") and p.is_file()):
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise TrustError(f"revocation list {path} cannot be read: {exc.strerror}") from None
        if len(raw) > MAX_CRL_BYTES:
            raise TrustError(f"revocation list {path} is larger than {MAX_CRL_BYTES} bytes")
        try:
            crl = x509.load_pem_x509_crl(raw) if raw.lstrip().startswith(b"-----") else x509.load_der_x509_crl(raw)
        except ValueError:
            raise TrustError(f"revocation list {path} is not an X.509 CRL") from None
        if authorities:
            signed = any(
                authority.subject == crl.issuer and crl.is_signature_valid(authority.public_key())  # type: ignore[arg-type]
                for authority in authorities
            )
            if not signed:
                raise TrustError(f"revocation list {path} is not signed by a CA in the e-ID CA file")
            problem = crl_problem(crl, dt.datetime.now(dt.UTC))
            if problem is not None:
                raise TrustError(f"revocation list {path} cannot be used: {problem}")
        crls.append(crl.public_bytes(serialization.Encoding.PEM).decode("ascii"))
    return tuple(crls)


def read_trust(
    ca_file: Path | None,
    revoked_file: Path | None,
    eid_ca_file: Path | None = None,
    eid_crl_dir: Path | None = None,
    staff_list: dict[str, object] | None = None,
) -> TrustMaterial:
    """The trust set's material from the configured files; any may be unset (then that part is left empty)."""
    eid_certificates = read_eid_certificates(eid_ca_file) if eid_ca_file is not None else ()
    authorities = [x509.load_pem_x509_certificate(block.encode("ascii")) for block in eid_certificates]
    return TrustMaterial(
        ca_chain=read_ca_chain(ca_file) if ca_file is not None else (),
        revoked_devices=read_revoked(revoked_file) if revoked_file is not None else frozenset(),
        eid_certificates=eid_certificates,
        eid_crls=read_eid_crls(eid_crl_dir, authorities) if eid_crl_dir is not None else (),
        staff_list=staff_list,
    )
