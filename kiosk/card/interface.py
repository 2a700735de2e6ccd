"""The one small interface the kiosk uses for an identity card, whatever speaks to it (PIV APDUs or PKCS#11)."""

from __future__ import annotations

import enum
from typing import Protocol


class SignAlgorithm(enum.IntEnum):
    """Signature algorithms, valued by their NIST SP 800-73 algorithm identifiers."""

    RSA_2048 = 0x07
    ECC_P256 = 0x11


class Card(Protocol):
    """An identity card: read its authentication certificate, check the PIN, and have it sign.

    Every method raises only `CardError` subclasses (`CardRemoved` when the card is pulled at any step).
    """

    def read_certificate(self) -> bytes:
        """DER of the card's authentication certificate (not yet validated: that is the caller's job)."""
        ...

    def pin_tries_left(self) -> int | None:
        """Tries left before the PIN blocks (0 when blocked); None when the PIN is already verified."""
        ...

    def verify_pin(self, pin: str) -> None:
        """Verify the PIN on the card; raises `WrongPin(tries_left)`, `PinBlocked` or `InvalidPinFormat`."""
        ...

    def sign(self, digest: bytes, algorithm: SignAlgorithm) -> bytes:
        """Have the card sign with its authentication key.

        ECC_P256: `digest` is a SHA-256 digest; the result is a DER ECDSA signature. RSA_2048: `digest` is the
        full 256-byte PKCS#1 v1.5 block (see `kiosk.card.piv.pkcs1_v15_block`); the result is 256 bytes.
        """
        ...
