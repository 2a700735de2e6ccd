"""PEM files on disk: written once with the right mode, replaced only when asked, read back typed.

Keys are written 0600 and certificates 0644 whatever the umask. A new file appears atomically (written
to a temporary file in the same folder, then hard-linked into place), so a crash never leaves half a
key, and an existing file is never overwritten by accident: `write_new` fails with `FileExistsError`
instead.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

KEY_MODE = 0o600
CERT_MODE = 0o644


def _write_temp(path: Path, data: bytes, mode: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    return Path(name)


def write_new(path: Path, data: bytes, mode: int) -> None:
    """Create ``path`` with ``data`` and ``mode``; raise `FileExistsError` if it already exists."""
    temp = _write_temp(path, data, mode)
    try:
        os.link(temp, path)
    finally:
        temp.unlink()


def replace(path: Path, data: bytes, mode: int) -> None:
    """Atomically put ``data`` at ``path`` with ``mode``, replacing what was there (only when asked to)."""
    temp = _write_temp(path, data, mode)
    try:
        os.replace(temp, path)
    except OSError:
        temp.unlink(missing_ok=True)
        raise


def key_bytes(key: ec.EllipticCurvePrivateKey) -> bytes:
    """The unencrypted PKCS#8 PEM form of ``key``."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def cert_bytes(*certs: x509.Certificate) -> bytes:
    """The PEM form of one or more certificates, concatenated in the order given."""
    return b"".join(cert.public_bytes(serialization.Encoding.PEM) for cert in certs)


def read_key(path: Path) -> ec.EllipticCurvePrivateKey:
    """Load an EC private key from a PEM file; `ValueError` if it is not one."""
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{path} does not hold an EC private key")
    return key


def read_cert(path: Path) -> x509.Certificate:
    """Load the first certificate from a PEM file."""
    return x509.load_pem_x509_certificate(path.read_bytes())
