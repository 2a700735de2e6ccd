"""Keeping the e-ID issuers' revocation lists fresh: download each from its issuer, check it, store it.

Issuers publish their lists at fixed addresses (the CRL distribution points in their certificates), usually over
plain HTTP: a list is signed, so what matters is the signature, not the transport. `refresh_crls` fetches every
configured address, accepts a list only if one of the CA certificates in ``eid_ca_file`` signed it and it is not
older than the one already held, and replaces the file for that issuer atomically. A failure keeps the old file
and is reported; kiosks keep using the last good list until it is past its next update plus their grace.
`tinget hub sets refresh-crls` runs it and then publishes the sets (a systemd timer does so every hour).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import http.client
import os
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from hub.sets.trust import MAX_CRL_BYTES, TrustError, crl_problem

FETCH_TIMEOUT_SECONDS = 60.0  # for one whole list, however slowly it arrives
CHUNK = 64 * 1024


@dataclass(frozen=True)
class CrlRefresh:
    """What happened to one address: ``stored`` (a newer list), ``current`` (no newer) or ``failed`` (why)."""

    url: str
    outcome: str
    detail: str = ""


def _download(url: str, timeout: float) -> bytes:
    """The body at ``url``, within ``timeout`` seconds in all (a server trickling bytes does not hold us)."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise TrustError(f"{url} is not an http(s) address")
    request = urllib.request.Request(url, headers={"User-Agent": "tinget-hub"})  # noqa: S310  # scheme checked
    deadline = time.monotonic() + timeout
    body = bytearray()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310  # scheme checked above
            while chunk := response.read(CHUNK):
                body += chunk
                if len(body) > MAX_CRL_BYTES:
                    raise TrustError(f"{url} is larger than {MAX_CRL_BYTES} bytes")
                if time.monotonic() > deadline:
                    raise TrustError(f"{url} took longer than {timeout:g} s")
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
        raise TrustError(f"cannot fetch {url}: {type(exc).__name__}: {exc}") from None
    return bytes(body)


def _parse(raw: bytes, url: str) -> x509.CertificateRevocationList:
    try:
        return x509.load_pem_x509_crl(raw) if raw.lstrip().startswith(b"-----") else x509.load_der_x509_crl(raw)
    except ValueError:
        raise TrustError(f"{url} did not return an X.509 CRL") from None


def _key(certificate: x509.Certificate) -> Any:
    return certificate.public_key()  # a CA's key: one of the kinds a CRL can be signed with


def _issuer(crl: x509.CertificateRevocationList, authorities: Sequence[x509.Certificate]) -> x509.Certificate | None:
    for authority in authorities:
        if authority.subject == crl.issuer and crl.is_signature_valid(_key(authority)):
            return authority
    return None


def crl_file_name(issuer: x509.Certificate) -> str:
    """The file one issuer's list is kept in: stable per issuer (its name and its key: a CA renewed under the
    same name with a new key is another issuer), whatever the address the list came from."""
    spki = issuer.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "issuer-" + hashlib.sha256(issuer.subject.public_bytes() + spki).hexdigest()[:16] + ".crl"


def _newer(candidate: x509.CertificateRevocationList, path: Path) -> bool:
    try:
        held = _parse(path.read_bytes(), str(path))
    except (OSError, TrustError):
        return True  # nothing (readable) held: anything signed is better
    if candidate.last_update_utc != held.last_update_utc:
        return candidate.last_update_utc > held.last_update_utc
    return _crl_number(candidate) > _crl_number(held)  # re-signed within the same second: the number decides


def _crl_number(crl: x509.CertificateRevocationList) -> int:
    try:
        return crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    except x509.ExtensionNotFound:
        return -1


def _store(path: Path, crl: x509.CertificateRevocationList) -> None:
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".crl-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(crl.public_bytes(serialization.Encoding.PEM))
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except OSError:
        Path(temporary).unlink(missing_ok=True)
        raise


def refresh_crls(
    urls: Sequence[str], ca_file: Path, crl_dir: Path, *, timeout: float = FETCH_TIMEOUT_SECONDS
) -> list[CrlRefresh]:
    """Fetch each address's list into ``crl_dir`` when it is genuine and newer; one result per address."""
    try:
        authorities = x509.load_pem_x509_certificates(ca_file.read_bytes())
    except (OSError, ValueError) as exc:
        raise TrustError(f"e-ID CA file {ca_file} cannot be read: {exc}") from None
    crl_dir.mkdir(parents=True, exist_ok=True)
    results = []
    for url in urls:
        try:
            crl = _parse(_download(url, timeout), url)
            issuer = _issuer(crl, authorities)
            if issuer is None:
                raise TrustError(f"the list from {url} is not signed by a CA in {ca_file}")
            problem = crl_problem(crl, dt.datetime.now(dt.UTC))
            if problem is not None:
                raise TrustError(f"the list from {url} is not used: {problem}")
            path = crl_dir / crl_file_name(issuer)
            if not _newer(crl, path):
                results.append(CrlRefresh(url, "current"))
                continue
            _store(path, crl)
            next_update = crl.next_update_utc
            results.append(
                CrlRefresh(url, "stored", f"next update {next_update:%Y-%m-%d %H:%M} UTC" if next_update else "")
            )
        except (TrustError, OSError) as exc:
            results.append(CrlRefresh(url, "failed", str(exc)))
    return results
