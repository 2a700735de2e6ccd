"""Arithmetic on public data only: checking received proofs, and summing published ciphertexts.

Nothing secret passes through here (keys, nonces and proof randomness stay in `group`'s libsodium calls). The
issue allows a faster representation for this part when a test cross-checks it against libsodium: the C extension
``_public_arithmetic`` (variable-time ristretto255, Straus's multi-scalar multiplication; docs/decisions.md D84)
does the work when it is built, and every function falls back to libsodium when it is not, with the same answers
(tests/protocol/ballots/test_public_arithmetic.py runs both).

`Equations` is the batch verifier: a proof in commitment form holds when a few linear equations in the group hold,
and many such equations (a whole ballot's) hold together, except with probability at most 2⁻¹²⁷, when one random
combination of them does (docs/verification.md, "Checking many equations at once").
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from protocol.ballots import group
from protocol.ballots.group import Point

try:
    from protocol.ballots import _public_arithmetic as _native
except ImportError:  # built without a C compiler: libsodium does the same work, more slowly
    _native = None

NATIVE = _native is not None
"""Whether the C extension is in use (the benchmark prints it; the test suite requires it where it is built)."""
WEIGHT_BITS = 128
"""The random weights' size (odd, so 127 random bits): a false equation survives with probability at most 2⁻¹²⁷."""

Term = tuple[int, Point]
"""A coefficient (any integer, taken mod ℓ) and a point: one summand coefficient·point of an equation."""


def combine(terms: Iterable[Term]) -> Point:
    """Σ coefficient·point, as the point's encoding (the identity is 32 zero bytes)."""
    pairs = [(group.scalar_from_int(c), p) for c, p in terms if c % group.ORDER and p != group.IDENTITY]
    if not pairs:
        return group.IDENTITY
    if _native is not None:
        return Point(_native.msm(pairs))
    _refuse_top_bit(p for _s, p in pairs)
    return group.total([group.base_mult(s) if p == group.GENERATOR else group.mult(s, p) for s, p in pairs])


def total(points: list[Point]) -> Point:
    """The sum of ``points`` (the identity for none)."""
    if _native is not None:
        return Point(_native.sum_points(points))
    _refuse_top_bit(points)
    return group.total(points)


def _refuse_top_bit(points: Iterable[Point]) -> None:
    """The fallback refuses what the extension refuses: libsodium alone would take an encoding with bit 255 set."""
    if any(p[-1] & 0x80 for p in points):
        raise ValueError("a point is not a valid ristretto255 point (bit 255 is set)")


class Equations:
    """Equations of the form Σ coefficient·point = identity, checked together.

    Each added equation is multiplied by a fresh random weight (from the operating system, unknown to whoever made
    the proofs) and the weighted sums are merged point by point, so that one multi-scalar multiplication checks
    them all.
    """

    def __init__(self) -> None:
        self._coefficients: dict[Point, int] = {}
        self._count = 0
        self._random = b""

    def __len__(self) -> int:
        return self._count

    def add(self, terms: Iterable[Term]) -> None:
        """Add the equation Σ coefficient·point = identity."""
        size = WEIGHT_BITS // 8
        if len(self._random) < size:  # one read of the operating system's random source for many weights
            self._random = os.urandom(size * 64)
        weight = int.from_bytes(self._random[:size], "little") | 1
        self._random = self._random[size:]
        merged = self._coefficients
        for coefficient, point in terms:  # reduced mod ℓ once, in `combine`
            merged[point] = merged.get(point, 0) + weight * coefficient
        self._count += 1

    def hold(self) -> bool:
        """True when every added equation holds (except with probability at most 2⁻¹²⁷); True for none."""
        return combine((c, p) for p, c in self._coefficients.items()) == group.IDENTITY
