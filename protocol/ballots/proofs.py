"""Non-interactive zero-knowledge proofs, all in challenge–response form and all made non-interactive by strong
Fiat–Shamir: the challenge hashes every public input of the statement and every commitment, under a domain
string of its own (docs/verification.md, "Proofs").

* `RangeProof`: a disjunctive Chaum–Pedersen proof (Cramer–Damgård–Schoenmakers) that a ciphertext (a, b)
  under key H encrypts one of ``lo..hi``: for each value v a branch (cᵥ, sᵥ) with commitments
  Aᵥ = sᵥ·G − cᵥ·a and Bᵥ = sᵥ·H − cᵥ·(b − v·G); the cᵥ must add up to the challenge. {0, 1} for each
  option, the poll's minimum..maximum for the sum.
* `KnowledgeProof`: a Schnorr proof of knowledge of x with X = x·G (a trustee's constant coefficient).
* `DecryptionProof`: a Chaum–Pedersen proof that log_G X = log_A D (a trustee's partial decryption).

Secrets (nonces, keys, proof randomness) only meet libsodium's scalar operations. ``rng`` parameters exist for
deterministic test vectors; in use they are libsodium's `group.random_scalar`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Self

from protocol.ballots import group
from protocol.ballots.elgamal import Ciphertext
from protocol.ballots.group import Point, Scalar

RANGE_DOMAIN = "tinget/ballots/v1/range-proof"
KNOWLEDGE_DOMAIN = "tinget/ballots/v1/knowledge-proof"
DECRYPTION_DOMAIN = "tinget/ballots/v1/decryption-proof"

Rng = Callable[[], Scalar]
Statement = Mapping[str, object]


class ProofError(ValueError):
    """A proof is malformed (wrong shape or encoding); a well-formed proof that does not hold is just False."""


def _pair(data: object, what: str) -> tuple[Scalar, Scalar]:
    if not isinstance(data, list) or len(data) != 2:
        raise ProofError(f"{what} must be a pair [c, s]")
    return group.scalar_from_hex(data[0], f"{what}.c"), group.scalar_from_hex(data[1], f"{what}.s")


def _pair_json(c: Scalar, s: Scalar) -> list[str]:
    return [group.to_hex(c), group.to_hex(s)]


# ---- range proofs -------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RangeProof:
    """Branches (cᵥ, sᵥ) for v = lo, lo + 1, …, hi."""

    branches: tuple[tuple[Scalar, Scalar], ...]

    def to_json(self) -> list[list[str]]:
        """The wire form: ``[[c_lo, s_lo], …, [c_hi, s_hi]]``."""
        return [_pair_json(c, s) for c, s in self.branches]

    @classmethod
    def from_json(cls, data: object, branches: int, what: str = "proof") -> RangeProof:
        """Decode a received range proof that must have exactly ``branches`` branches."""
        if not isinstance(data, list) or len(data) != branches:
            raise ProofError(f"{what} must have {branches} branches")
        return cls(tuple(_pair(item, f"{what}[{i}]") for i, item in enumerate(data)))


def _range_commitments(
    key: Point, ciphertext: Ciphertext, lo: int, branches: Sequence[tuple[Scalar, Scalar]]
) -> list[list[str]]:
    commitments = []
    for offset, (c, s) in enumerate(branches):
        shifted = group.sub(ciphertext.b, group.small_multiple(lo + offset)) if lo + offset else ciphertext.b
        a_v = group.sub(group.base_mult(s), group.mult(c, ciphertext.a))
        b_v = group.sub(group.mult(s, key), group.mult(c, shifted))
        commitments.append([group.to_hex(a_v), group.to_hex(b_v)])
    return commitments


def _range_challenge(
    statement: Statement, key: Point, ciphertext: Ciphertext, lo: int, hi: int, commitments: list[list[str]]
) -> Scalar:
    return group.hash_to_scalar(
        RANGE_DOMAIN,
        {
            **statement,
            "key": group.to_hex(key),
            "ciphertext": ciphertext.to_json(),
            "range": [lo, hi],
            "commitments": commitments,
        },
    )


def prove_range(
    statement: Statement,
    key: Point,
    ciphertext: Ciphertext,
    nonce: Scalar,
    value: int,
    lo: int,
    hi: int,
    rng: Rng = group.random_scalar,
) -> RangeProof:
    """Prove that ``ciphertext`` (made with ``nonce``) encrypts ``value`` ∈ lo..hi without saying which.

    ``statement`` holds the public context the challenge must also bind (poll, the whole ballot, which option).
    """
    if not lo <= value <= hi:
        raise ValueError("the value is outside the range it is to be proved in")
    branches: list[tuple[Scalar, Scalar]] = []
    commitments: list[list[str]] = []
    witness = rng()
    for v in range(lo, hi + 1):
        if v == value:
            branches.append((group.scalar_from_int(0), group.scalar_from_int(0)))  # filled in below
            commitments.append([group.to_hex(group.base_mult(witness)), group.to_hex(group.mult(witness, key))])
        else:
            c, s = rng(), rng()
            branches.append((c, s))
            commitments += _range_commitments(key, ciphertext, v, [(c, s)])
    challenge = _range_challenge(statement, key, ciphertext, lo, hi, commitments)
    real_c = challenge
    for v, (c, _s) in zip(range(lo, hi + 1), branches, strict=True):
        if v != value:
            real_c = group.scalar_sub(real_c, c)
    real_s = group.scalar_add(witness, group.scalar_mul(real_c, nonce))
    branches[value - lo] = (real_c, real_s)
    return RangeProof(tuple(branches))


def check_range(statement: Statement, key: Point, ciphertext: Ciphertext, proof: RangeProof, lo: int, hi: int) -> bool:
    """True when ``proof`` shows ``ciphertext`` encrypts a value in lo..hi under ``key`` for this statement."""
    if len(proof.branches) != hi - lo + 1:
        return False
    commitments = _range_commitments(key, ciphertext, lo, proof.branches)
    challenge = group.scalar_to_int(_range_challenge(statement, key, ciphertext, lo, hi, commitments))
    return sum(group.scalar_to_int(c) for c, _s in proof.branches) % group.ORDER == challenge


# ---- knowledge of a discrete logarithm (Schnorr) ------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ChallengeResponse:
    """A proof as one challenge c and one response s."""

    c: Scalar
    s: Scalar

    def to_json(self) -> list[str]:
        """The wire form: ``[c, s]``."""
        return _pair_json(self.c, self.s)

    @classmethod
    def from_json(cls, data: object, what: str = "proof") -> Self:
        """Decode a received proof."""
        return cls(*_pair(data, what))


@dataclass(frozen=True, slots=True)
class KnowledgeProof(ChallengeResponse):
    """(c, s) with commitment R = s·G − c·X."""


def _knowledge_challenge(statement: Statement, public: Point, commitment: Point) -> Scalar:
    return group.hash_to_scalar(
        KNOWLEDGE_DOMAIN,
        {**statement, "public": group.to_hex(public), "commitment": group.to_hex(commitment)},
    )


def prove_knowledge(statement: Statement, secret: Scalar, rng: Rng = group.random_scalar) -> KnowledgeProof:
    """Prove knowledge of ``secret`` behind secret·G, bound to ``statement``."""
    witness = rng()
    c = _knowledge_challenge(statement, group.base_mult(secret), group.base_mult(witness))
    return KnowledgeProof(c, group.scalar_add(witness, group.scalar_mul(c, secret)))


def check_knowledge(statement: Statement, public: Point, proof: KnowledgeProof) -> bool:
    """True when ``proof`` shows knowledge of log_G ``public`` for this statement."""
    commitment = group.sub(group.base_mult(proof.s), group.mult(proof.c, public))
    return _knowledge_challenge(statement, public, commitment) == proof.c


# ---- equality of discrete logarithms (Chaum–Pedersen) -------------------------------------------------------
@dataclass(frozen=True, slots=True)
class DecryptionProof(ChallengeResponse):
    """(c, s) with commitments U = s·G − c·X and V = s·A − c·D."""


def _decryption_challenge(statement: Statement, public: Point, base: Point, share: Point, u: Point, v: Point) -> Scalar:
    return group.hash_to_scalar(
        DECRYPTION_DOMAIN,
        {
            **statement,
            "public": group.to_hex(public),
            "base": group.to_hex(base),
            "share": group.to_hex(share),
            "commitments": [group.to_hex(u), group.to_hex(v)],
        },
    )


def prove_decryption(
    statement: Statement, secret: Scalar, base: Point, rng: Rng = group.random_scalar
) -> tuple[Point, DecryptionProof]:
    """D = secret·base, and a proof that log_G(secret·G) = log_base D, bound to ``statement``."""
    share = group.mult(secret, base)
    witness = rng()
    u, v = group.base_mult(witness), group.mult(witness, base)
    c = _decryption_challenge(statement, group.base_mult(secret), base, share, u, v)
    return share, DecryptionProof(c, group.scalar_add(witness, group.scalar_mul(c, secret)))


def check_decryption(statement: Statement, public: Point, base: Point, share: Point, proof: DecryptionProof) -> bool:
    """True when ``proof`` shows log_G ``public`` = log_base ``share`` for this statement."""
    u = group.sub(group.base_mult(proof.s), group.mult(proof.c, public))
    v = group.sub(group.mult(proof.s, base), group.mult(proof.c, share))
    return _decryption_challenge(statement, public, base, share, u, v) == proof.c
