"""Non-interactive zero-knowledge proofs, all made non-interactive by strong
Fiat–Shamir: the challenge hashes every public input of the statement and every commitment, under a domain
string of its own (docs/verification.md, "Proofs").

* `RangeProof`: a disjunctive Chaum–Pedersen proof (Cramer–Damgård–Schoenmakers) that a ciphertext (a, b)
  under key H encrypts one of ``lo..hi``: for each value v a branch (Aᵥ, Bᵥ, cᵥ, sᵥ) with
  sᵥ·G = Aᵥ + cᵥ·a and sᵥ·H = Bᵥ + cᵥ·(b − v·G); the cᵥ must add up to the challenge, which hashes the
  commitments. {0, 1} for each option, the poll's minimum..maximum for the sum. It is in commitment form so
  that a ballot's equations can be checked together (`public_arithmetic.Equations`).
* `KnowledgeProof`: a Schnorr proof of knowledge of x with X = x·G (a trustee's constant coefficient).
* `DecryptionProof`: a Chaum–Pedersen proof that log_G X = log_A D (a trustee's partial decryption).

Secrets (nonces, keys, proof randomness) only meet libsodium's scalar operations. ``rng`` parameters exist for
deterministic test vectors; in use they are libsodium's `group.random_scalar`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Self

from protocol.ballots import group, public_arithmetic
from protocol.ballots.elgamal import Ciphertext
from protocol.ballots.group import Point, Scalar
from protocol.ballots.public_arithmetic import Term

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
Branch = tuple[Point, Point, Scalar, Scalar]
"""One value's branch of a range proof: the commitments Aᵥ, Bᵥ, the challenge cᵥ and the response sᵥ."""


@dataclass(frozen=True, slots=True)
class RangeProof:
    """Branches (Aᵥ, Bᵥ, cᵥ, sᵥ) for v = lo, lo + 1, …, hi.

    The proof carries its commitments (rather than only (cᵥ, sᵥ), from which a verifier would recompute them one
    scalar multiplication at a time) so that a verifier can check all of a ballot's equations together
    (`range_equations`, `public_arithmetic.Equations`): docs/decisions.md D84.
    """

    branches: tuple[Branch, ...]

    def to_json(self) -> list[list[str]]:
        """The wire form: ``[[A_lo, B_lo, c_lo, s_lo], …, [A_hi, B_hi, c_hi, s_hi]]``."""
        return [[group.to_hex(a), group.to_hex(b), group.to_hex(c), group.to_hex(s)] for a, b, c, s in self.branches]

    @classmethod
    def from_json(cls, data: object, branches: int, what: str = "proof") -> RangeProof:
        """Decode a received range proof that must have exactly ``branches`` branches."""
        if not isinstance(data, list) or len(data) != branches:
            raise ProofError(f"{what} must have {branches} branches")
        return cls(tuple(_branch(item, f"{what}[{i}]") for i, item in enumerate(data)))

    def commitments_json(self) -> list[list[str]]:
        """``[[hex(A_lo), hex(B_lo)], …]``: the commitments as the challenge hashes them."""
        return [[group.to_hex(a), group.to_hex(b)] for a, b, _c, _s in self.branches]


def _branch(data: object, what: str) -> Branch:
    if not isinstance(data, list) or len(data) != 4:
        raise ProofError(f"{what} must be a branch [A, B, c, s]")
    return (
        group.point_from_hex(data[0], f"{what}.A"),
        group.point_from_hex(data[1], f"{what}.B"),
        group.scalar_from_hex(data[2], f"{what}.c"),
        group.scalar_from_hex(data[3], f"{what}.s"),
    )


def _shifted(ciphertext: Ciphertext, value: int) -> Point:
    """b − value·G, by libsodium (the prover's side)."""
    return group.sub(ciphertext.b, group.small_multiple(value)) if value else ciphertext.b


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
    simulated: dict[int, tuple[Scalar, Scalar]] = {}
    commitments: list[tuple[Point, Point]] = []
    witness = rng()
    for v in range(lo, hi + 1):
        if v == value:
            commitments.append((group.base_mult(witness), group.mult(witness, key)))
        else:
            c, s = rng(), rng()
            simulated[v] = (c, s)
            commitments.append(
                (
                    group.sub(group.base_mult(s), group.mult(c, ciphertext.a)),
                    group.sub(group.mult(s, key), group.mult(c, _shifted(ciphertext, v))),
                )
            )
    hexed = [[group.to_hex(a), group.to_hex(b)] for a, b in commitments]
    real_c = _range_challenge(statement, key, ciphertext, lo, hi, hexed)
    for c, _s in simulated.values():
        real_c = group.scalar_sub(real_c, c)
    real_s = group.scalar_add(witness, group.scalar_mul(real_c, nonce))
    responses = [simulated.get(v, (real_c, real_s)) for v in range(lo, hi + 1)]
    return RangeProof(tuple((a, b, c, s) for (a, b), (c, s) in zip(commitments, responses, strict=True)))


def range_challenge_holds(
    statement: Statement, key: Point, ciphertext: Ciphertext, proof: RangeProof, lo: int, hi: int
) -> bool:
    """The first half of checking a range proof: it has a branch per value and its cᵥ add up to the challenge."""
    if len(proof.branches) != hi - lo + 1:
        return False
    challenge = group.scalar_to_int(_range_challenge(statement, key, ciphertext, lo, hi, proof.commitments_json()))
    return sum(group.scalar_to_int(c) for _a, _b, c, _s in proof.branches) % group.ORDER == challenge


def range_equations(key: Point, ciphertext: Ciphertext, proof: RangeProof, lo: int) -> list[list[Term]]:
    """The second half: for each v, sᵥ·G − cᵥ·a − Aᵥ = 0 and sᵥ·H − cᵥ·b + cᵥ·v·G − Bᵥ = 0, as terms for
    `public_arithmetic.Equations` (which checks them, and other proofs' equations, together)."""
    equations: list[list[Term]] = []
    for offset, (commit_a, commit_b, c_bytes, s_bytes) in enumerate(proof.branches):
        c, s = group.scalar_to_int(c_bytes), group.scalar_to_int(s_bytes)
        equations.append([(s, group.GENERATOR), (-c, ciphertext.a), (-1, commit_a)])
        equations.append([(s, key), (-c, ciphertext.b), (c * (lo + offset), group.GENERATOR), (-1, commit_b)])
    return equations


def check_range(statement: Statement, key: Point, ciphertext: Ciphertext, proof: RangeProof, lo: int, hi: int) -> bool:
    """True when ``proof`` shows ``ciphertext`` encrypts a value in lo..hi under ``key`` for this statement."""
    if not range_challenge_holds(statement, key, ciphertext, proof, lo, hi):
        return False
    equations = public_arithmetic.Equations()
    for terms in range_equations(key, ciphertext, proof, lo):
        equations.add(terms)
    return equations.hold()


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
    c, s = group.scalar_to_int(proof.c), group.scalar_to_int(proof.s)
    commitment = public_arithmetic.combine([(s, group.GENERATOR), (-c, public)])
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
    c, s = group.scalar_to_int(proof.c), group.scalar_to_int(proof.s)
    u = public_arithmetic.combine([(s, group.GENERATOR), (-c, public)])
    v = public_arithmetic.combine([(s, base), (-c, share)])
    return _decryption_challenge(statement, public, base, share, u, v) == proof.c
