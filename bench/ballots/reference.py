"""The reference: the same exponential ElGamal and the same disjunctive Chaum–Pedersen range proofs in a
2048-bit finite-field Schnorr group (p = k·q + 1, q a 256-bit prime), computed with Python's own ``pow``.

The group is derived deterministically here (a fixed seed, trial division, then Miller–Rabin) rather than copied
from an RFC: RFC 3526/7919 groups are safe-prime groups whose exponents would be 2047 bits, which would flatter
the elliptic-curve figures eightfold; a 256-bit subgroup is the fair comparison (as in ElectionGuard).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

SMALL_PRIMES = [p for p in range(3, 4_000, 2) if all(p % d for d in range(3, int(p**0.5) + 1, 2))]


def probably_prime(n: int, rounds: int = 24) -> bool:
    """Trial division, then Miller–Rabin with bases drawn from a fixed sequence."""
    if n < 2 or any(n % p == 0 for p in SMALL_PRIMES if p < n):
        return n in SMALL_PRIMES or n == 2
    d, r = n - 1, 0
    while d % 2 == 0:
        d, r = d // 2, r + 1
    for i in range(rounds):
        a = 2 + int.from_bytes(hashlib.sha256(b"mr%d" % i).digest()) % (n - 3)
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


@dataclass(frozen=True)
class SchnorrGroup:
    p: int
    q: int
    g: int


def schnorr_group(bits: int = 2048, qbits: int = 256) -> SchnorrGroup:
    """The first q ≥ a seeded 256-bit value that is prime, then the first even k making p = k·q + 1 prime."""
    q = int.from_bytes(hashlib.sha512(b"tinget/bench/reference/q").digest()[: qbits // 8]) | (1 << (qbits - 1)) | 1
    while not probably_prime(q):
        q += 2
    offset = int.from_bytes(hashlib.sha512(b"tinget/bench/reference/p").digest() * 4) >> (2048 - bits + qbits + 8)
    k = (1 << (bits - 1)) // q + offset  # p = k·q + 1 lands in [2^(bits-1), 2^bits)
    k += k % 2
    while not probably_prime(k * q + 1, rounds=4):
        k += 2
    p = k * q + 1
    g = pow(2, k, p)
    assert g != 1 and pow(g, q, p) == 1
    return SchnorrGroup(p, q, g)


def challenge(group: SchnorrGroup, *parts: object) -> int:
    return int.from_bytes(hashlib.sha512(repr(("tinget/bench/reference", *parts)).encode()).digest()) % group.q


def encrypt_and_prove(group: SchnorrGroup, key: int, bits: list[int], lo: int, hi: int) -> list[object]:
    """One ciphertext per option with a 0/1 proof each, and a lo..hi proof on their product."""
    p, q = group.p, group.q
    nonces = [secrets.randbelow(q) for _ in bits]
    cts = [(pow(group.g, r, p), pow(group.g, m, p) * pow(key, r, p) % p) for m, r in zip(bits, nonces, strict=True)]
    out: list[object] = [
        (ct, prove(group, key, cts, ct, r, m, 0, 1)) for ct, r, m in zip(cts, nonces, bits, strict=True)
    ]
    a, b = 1, 1
    for x, y in cts:
        a, b = a * x % p, b * y % p
    out.append(prove(group, key, cts, (a, b), sum(nonces) % q, sum(bits), lo, hi))
    return out


def prove(group: SchnorrGroup, key: int, cts: list, ct: tuple[int, int], r: int, m: int, lo: int, hi: int) -> list:
    """Branches [A, B, c, s] for v = lo..hi: the commitment form Tinget's ballots use (docs/decisions.md D84)."""
    p, q, g = group.p, group.q, group.g
    a, b = ct
    branches: list[list[int]] = []
    w = secrets.randbelow(q)
    for v in range(lo, hi + 1):
        if v == m:
            branches.append([pow(g, w, p), pow(key, w, p), 0, 0])
        else:
            c, s = secrets.randbelow(q), secrets.randbelow(q)
            branches.append([*_commit(group, key, a, b, v, c, s), c, s])
    total = challenge(group, key, cts, ct, lo, hi, [(x, y) for x, y, _c, _s in branches])
    real = (total - sum(c for _x, _y, c, _s in branches)) % q
    branches[m - lo][2:] = [real, (w + real * r) % q]
    return branches


def _commit(group: SchnorrGroup, key: int, a: int, b: int, v: int, c: int, s: int) -> tuple[int, int]:
    p, q, g = group.p, group.q, group.g
    shifted = b * pow(g, -v % q, p) % p
    return pow(g, s, p) * pow(a, -c % q, p) % p, pow(key, s, p) * pow(shifted, -c % q, p) % p


def _member(group: SchnorrGroup, x: int) -> bool:
    """Subgroup membership: the reference validates every received element, as Tinget does."""
    return 1 < x < group.p and pow(x, group.q, group.p) == 1


def check(
    group: SchnorrGroup, key: int, cts: list, ct: tuple[int, int], branches: list, lo: int, hi: int, exps: dict
) -> bool:
    """The challenge now; the equations g^s = A·a^c and H^s = B·(b/g^v)^c go into ``exps`` with random weights."""
    q = group.q
    if not all(_member(group, x) for x, y, _c, _s in branches for x in (x, y)):
        return False
    commitments = [(x, y) for x, y, _c, _s in branches]
    if sum(c for _x, _y, c, _s in branches) % q != challenge(group, key, cts, ct, lo, hi, commitments):
        return False
    a, b = ct
    for v, (x, y, c, s) in zip(range(lo, hi + 1), branches, strict=True):
        z1, z2 = secrets.randbits(128) | 1, secrets.randbits(128) | 1
        for base, exponent in (
            (group.g, z1 * s + z2 * c * v),
            (a, -z1 * c),
            (x, -z1),
            (key, z2 * s),
            (b, -z2 * c),
            (y, -z2),
        ):
            exps[base] = (exps.get(base, 0) + exponent) % q
    return True


def verify(group: SchnorrGroup, key: int, ballot: list, lo: int, hi: int) -> bool:
    """Every proof of a ballot, its equations checked together (one product of powers), as the hub does."""
    p = group.p
    options, selections = ballot[:-1], ballot[-1]
    cts = [ct for ct, _proof in options]
    if not all(_member(group, x) for ct in cts for x in ct):
        return False
    a, b = 1, 1
    for x, y in cts:
        a, b = a * x % p, b * y % p
    exps: dict[int, int] = {}
    ok = all(check(group, key, cts, ct, proof, 0, 1, exps) for ct, proof in options)
    if not (ok and check(group, key, cts, (a, b), selections, lo, hi, exps)):
        return False
    product = 1
    for base, exponent in exps.items():
        product = product * pow(base, exponent, p) % p
    return product == 1
