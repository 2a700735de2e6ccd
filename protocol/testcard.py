"""Test e-ID cards as files: what `tinget provision test-card` writes and the card emulator reads.

A test card is one JSON file (mode 0600) holding what a real card keeps inside: the authentication key, its
certificate, the PIN and how many tries the PIN has left. It exists for tests and the demo only; a real card's
key never leaves the card. The format::

    {"format": "tinget-test-card", "version": 1, "label": "anna",
     "pin": "123456", "pin_tries": 3, "key": "-----BEGIN PRIVATE KEY-----…", "certificate": "-----BEGIN …"}
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

FORMAT = "tinget-test-card"
VERSION = 1
MAX_FILE_BYTES = 64 * 1024
MAX_TRIES = 15  # PIV reports tries left in four bits


class CardFileError(ValueError):
    """A test card file cannot be read or written; the message names the file and what is wrong."""


@dataclass(frozen=True, slots=True, repr=False)
class CardFile:
    """A test card's contents. ``repr`` leaves the PIN and the key out."""

    label: str
    pin: str
    pin_tries: int
    key_pem: bytes
    certificate_pem: bytes

    def __post_init__(self) -> None:
        if not (6 <= len(self.pin) <= 8 and self.pin.isascii() and self.pin.isdigit()):
            raise CardFileError("a test card's PIN is 6 to 8 digits")
        if not 0 <= self.pin_tries <= MAX_TRIES:
            raise CardFileError(f"pin_tries must be 0 to {MAX_TRIES}")

    def __repr__(self) -> str:
        return f"CardFile({self.label!r})"

    def private_key(self) -> ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey:
        """The card's authentication key (P-256 or RSA)."""
        key = serialization.load_pem_private_key(self.key_pem, password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
            raise CardFileError(f"test card {self.label!r} holds a key that is neither EC nor RSA")
        return key

    def certificate(self) -> x509.Certificate:
        """The card's authentication certificate."""
        return x509.load_pem_x509_certificate(self.certificate_pem)

    def certificate_der(self) -> bytes:
        """The certificate as the card stores it (DER)."""
        return self.certificate().public_bytes(serialization.Encoding.DER)


def write_test_card(path: Path, card: CardFile) -> None:
    """Write ``card`` to ``path`` atomically, readable by its owner only."""
    document = {
        "format": FORMAT,
        "version": VERSION,
        "label": card.label,
        "pin": card.pin,
        "pin_tries": card.pin_tries,
        "key": card.key_pem.decode("ascii"),
        "certificate": card.certificate_pem.decode("ascii"),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # O_CREAT's mode does not apply to a leftover temporary file that already exists
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(document, out, indent=2)
        out.write("\n")
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)


def read_test_card(path: Path) -> CardFile:
    """Read a test card file; `CardFileError` with the reason when it is missing or malformed."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CardFileError(f"test card {path} cannot be read: {exc.strerror or exc}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise CardFileError(f"test card {path} is larger than {MAX_FILE_BYTES} bytes")
    try:
        document = json.loads(raw)
        if document.get("format") != FORMAT or document.get("version") != VERSION:
            raise CardFileError(f"test card {path} is not a version {VERSION} {FORMAT} file")
        card = CardFile(
            label=str(document["label"]),
            pin=str(document["pin"]),
            pin_tries=int(document["pin_tries"]),
            key_pem=str(document["key"]).encode("ascii"),
            certificate_pem=str(document["certificate"]).encode("ascii"),
        )
        card.private_key()
        card.certificate()
    except CardFileError as exc:
        if str(exc).startswith(f"test card {path} "):
            raise
        raise CardFileError(f"test card {path}: {exc}") from None  # the card's own rules, with the file named
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        # RecursionError: json refuses deeply nested arrays that way, and a hostile file is still just malformed
        raise CardFileError(f"test card {path} is malformed ({type(exc).__name__})") from None
    return card
