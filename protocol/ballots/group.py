"""The group: ristretto255 through libsodium (pysodium), with points and scalars as 32-byte strings.

Everything that touches a secret (keys, nonces, proof randomness) is computed by libsodium's own primitives:
`random_scalar`, the scalar operations and the scalar multiplications below call ``crypto_core_ristretto255_*``
and ``crypto_scalarmult_ristretto255*``. Python integers modulo `ORDER` are used only for public values that
everyone can compute (challenge sums, Lagrange coefficients, small counts).

On the wire a point or a scalar is 64 lower-case hex digits of its 32-byte encoding (RFC 9496 for points;
little-endian, below the group order for scalars). `point_from_hex` and `scalar_from_hex` are the only ways a
received value enters the code, and both validate: a non-canonical, non-decodable or identity point, or a
scalar at or above the order, raises `GroupError` (docs/verification.md, "The group").
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from typing import NewType

import pysodium  # libsodium's ristretto255 (libsodium23): see docs/decisions.md D60

try:  # the RFC 9496 decoder of the public-data extension (D84), cross-checked against libsodium's by the tests
    from protocol.ballots._public_arithmetic import is_valid_point as _decodes
except ImportError:
    _decodes = None

from protocol import codec

Point = NewType("Point", bytes)
"""A ristretto255 group element, 32 bytes (RFC 9496 encoding)."""
Scalar = NewType("Scalar", bytes)
"""An integer modulo `ORDER`, 32 bytes little-endian, canonical."""

ORDER = 2**252 + 27742317777372353535851937790883648493
"""ℓ, the prime order of ristretto255."""
IDENTITY = Point(bytes(32))
"""The neutral element (encodes as 32 zero bytes)."""
SIZE = 32
_HEX = re.compile(r"[0-9a-f]{64}")


class GroupError(ValueError):
    """A received point or scalar is not a valid ristretto255 element or canonical scalar."""


def random_scalar() -> Scalar:
    """A uniformly random non-zero scalar from libsodium (``crypto_core_ristretto255_scalar_random``)."""
    return Scalar(bytes(pysodium.crypto_core_ristretto255_scalar_random()))


def scalar_from_int(value: int) -> Scalar:
    """The scalar ``value mod ℓ`` (for public values: counts, indices, Lagrange coefficients)."""
    return Scalar((value % ORDER).to_bytes(SIZE, "little"))


def scalar_to_int(scalar: Scalar) -> int:
    """The integer a scalar stands for (public values only)."""
    return int.from_bytes(scalar, "little")


def scalar_add(x: Scalar, y: Scalar) -> Scalar:
    """x + y mod ℓ, by libsodium."""
    return Scalar(bytes(pysodium.crypto_core_ristretto255_scalar_add(x, y)))


def scalar_sub(x: Scalar, y: Scalar) -> Scalar:
    """x − y mod ℓ, by libsodium."""
    return Scalar(bytes(pysodium.crypto_core_ristretto255_scalar_sub(x, y)))


def scalar_mul(x: Scalar, y: Scalar) -> Scalar:
    """x · y mod ℓ, by libsodium."""
    return Scalar(bytes(pysodium.crypto_core_ristretto255_scalar_mul(x, y)))


def hash_to_scalar(domain: str, statement: dict[str, object]) -> Scalar:
    """The Fiat–Shamir challenge: SHA-512 of the canonical JSON of ``{"domain": …, **statement}``, reduced mod ℓ.

    ``statement`` must hold every public input of the proof (docs/verification.md, "Challenges").
    """
    if "domain" in statement:
        raise ValueError("the statement must not set its own domain")
    # Every statement is built from validated parts (hex, integers, poll and ceremony text checked on entry).
    digest = hashlib.sha512(codec.encode_valid({"domain": domain, **statement})).digest()
    return Scalar(bytes(pysodium.crypto_core_ristretto255_scalar_reduce(digest)))


def base_mult(scalar: Scalar) -> Point:
    """scalar · G, by libsodium (``crypto_scalarmult_ristretto255_base``); 0 · G is the identity."""
    if scalar == bytes(SIZE):
        return IDENTITY
    return Point(bytes(pysodium.crypto_scalarmult_ristretto255_base(scalar)))


def mult(scalar: Scalar, point: Point) -> Point:
    """scalar · point, by libsodium; the identity when either is zero (libsodium refuses that result)."""
    if scalar == bytes(SIZE) or point == IDENTITY:
        return IDENTITY
    return Point(bytes(pysodium.crypto_scalarmult_ristretto255(scalar, point)))


def add(p: Point, q: Point) -> Point:
    """p + q, by libsodium."""
    return Point(bytes(pysodium.crypto_core_ristretto255_add(p, q)))


def sub(p: Point, q: Point) -> Point:
    """p − q, by libsodium."""
    return Point(bytes(pysodium.crypto_core_ristretto255_sub(p, q)))


def total(points: list[Point]) -> Point:
    """The sum of ``points`` (the identity for none)."""
    result = IDENTITY
    for point in points:
        result = add(result, point)
    return result


@lru_cache(maxsize=4096)
def small_multiple(value: int) -> Point:
    """value · G for a small public integer (a count, a range bound), cached."""
    return base_mult(scalar_from_int(value))


GENERATOR = Point(bytes.fromhex("e2f2ae0a6abc4e71a884a961c500515f58e30b6aa582dd8db6a65945e08d2d76"))
"""G, the ristretto255 base point (RFC 9496); a test checks it equals libsodium's 1 · G."""


def is_point(data: bytes) -> bool:
    """True when ``data`` is the canonical encoding of a ristretto255 element (RFC 9496: bit 255 clear).

    The extension's decoder decides when it is built (a third of the cost); libsodium otherwise, which ignores
    bit 255, so that is tested here.
    """
    if len(data) != SIZE:
        return False
    if _decodes is not None:
        return bool(_decodes(data))
    return not data[-1] & 0x80 and bool(pysodium.crypto_core_ristretto255_is_valid_point(data))


def point_from_hex(text: object, what: str = "point") -> Point:
    """Decode and validate a received point; refuses the identity, which no honest party ever sends."""
    if not isinstance(text, str) or not _HEX.fullmatch(text):
        raise GroupError(f"{what} is not 64 lower-case hex digits")
    data = bytes.fromhex(text)
    if data == IDENTITY:
        raise GroupError(f"{what} is the identity element")
    if not is_point(data):
        raise GroupError(f"{what} is not a valid ristretto255 point")
    return Point(data)


def scalar_from_hex(text: object, what: str = "scalar") -> Scalar:
    """Decode and validate a received scalar: 32 bytes little-endian, below ℓ."""
    if not isinstance(text, str) or not _HEX.fullmatch(text):
        raise GroupError(f"{what} is not 64 lower-case hex digits")
    data = bytes.fromhex(text)
    if int.from_bytes(data, "little") >= ORDER:
        raise GroupError(f"{what} is not below the group order")
    return Scalar(data)


def to_hex(value: bytes) -> str:
    """The wire form of a point or a scalar."""
    return value.hex()
