"""Exponential ElGamal on ristretto255: a ciphertext of m under key H is (a, b) = (r·G, m·G + r·H).

Ciphertexts add: the sum of encryptions of m₁ and m₂ is an encryption of m₁ + m₂, which is how the tally is
computed without decrypting any ballot. Every encryption draws a fresh nonce r from libsodium.
"""

from __future__ import annotations

from dataclasses import dataclass

from protocol.ballots import group, public_arithmetic
from protocol.ballots.group import Point, Scalar


@dataclass(frozen=True, slots=True)
class Ciphertext:
    """An exponential ElGamal ciphertext (a, b)."""

    a: Point
    b: Point

    def to_json(self) -> dict[str, str]:
        """The wire form: ``{"a": hex, "b": hex}``."""
        return {"a": group.to_hex(self.a), "b": group.to_hex(self.b)}

    @classmethod
    def from_json(cls, data: object, what: str = "ciphertext") -> Ciphertext:
        """Decode and validate a received ciphertext (raises `GroupError` or `ValueError`)."""
        if not isinstance(data, dict) or set(data) != {"a", "b"}:
            raise ValueError(f"{what} must be an object with exactly the fields a and b")
        return cls(group.point_from_hex(data["a"], f"{what}.a"), group.point_from_hex(data["b"], f"{what}.b"))

    def __add__(self, other: Ciphertext) -> Ciphertext:
        return Ciphertext(group.add(self.a, other.a), group.add(self.b, other.b))

    def __sub__(self, other: Ciphertext) -> Ciphertext:
        return Ciphertext(group.sub(self.a, other.a), group.sub(self.b, other.b))


ZERO = Ciphertext(group.IDENTITY, group.IDENTITY)
"""The trivial encryption of 0 with nonce 0: the neutral element of ciphertext addition."""


def encrypt(key: Point, message: int) -> tuple[Ciphertext, Scalar]:
    """Encrypt a small non-negative ``message`` under ``key`` with a fresh nonce; returns the ciphertext and nonce.

    The nonce is secret: whoever holds it learns the message. It is needed once, for the proof, and then dropped.
    """
    nonce = group.random_scalar()
    return encrypt_with_nonce(key, message, nonce), nonce


def encrypt_with_nonce(key: Point, message: int, nonce: Scalar) -> Ciphertext:
    """The encryption of ``message`` with a given nonce (tests and test vectors; `encrypt` otherwise)."""
    a = group.base_mult(nonce)
    b = group.add(group.small_multiple(message), group.mult(nonce, key))
    return Ciphertext(a, b)


def total(ciphertexts: list[Ciphertext]) -> Ciphertext:
    """The homomorphic sum of ``ciphertexts`` (`ZERO` for none): public data, summed by `public_arithmetic`."""
    a = public_arithmetic.total([c.a for c in ciphertexts])
    b = public_arithmetic.total([c.b for c in ciphertexts])
    return Ciphertext(a, b)
