"""Counting: the homomorphic aggregate of the counted ballots, the trustees' partial decryptions of that
aggregate (never of a single ballot: SEC-05), their combination by Lagrange interpolation, and the small
discrete logarithm that turns count·G back into the count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from protocol.ballots import elgamal, group, proofs
from protocol.ballots.ballot import Ballot
from protocol.ballots.elgamal import Ciphertext
from protocol.ballots.group import Point, Scalar
from protocol.ballots.keygen import ElectionKey
from protocol.ballots.poll import PollRules
from protocol.ballots.proofs import DecryptionProof, Rng

Aggregate = tuple[Ciphertext, ...]


class TallyError(ValueError):
    """A partial decryption or a combination that cannot be used; the message names the trustee or option."""


def empty_aggregate(rules: PollRules) -> Aggregate:
    """The aggregate of no ballots."""
    return tuple(elgamal.ZERO for _ in rules.options)


def is_empty(aggregate: Aggregate) -> bool:
    """True for the aggregate of no ballots (the identity, both components, for every option): a board on
    which no ballot counts. Its result is all zeros, and nothing is decrypted (D66)."""
    return all(c == elgamal.ZERO for c in aggregate)


def add_ballot(aggregate: Aggregate, ballot: Ballot) -> Aggregate:
    """The aggregate with ``ballot`` counted too: what the hub does as each counted ballot arrives."""
    return add_ciphertexts(aggregate, ballot.ciphertexts)


def add_ciphertexts(aggregate: Aggregate, ciphertexts: tuple[Ciphertext, ...]) -> Aggregate:
    """The aggregate plus one ciphertext per option (libsodium point additions)."""
    return tuple(total + c for total, c in zip(aggregate, ciphertexts, strict=True))


def remove_ballot(aggregate: Aggregate, ballot: Ballot) -> Aggregate:
    """The aggregate without ``ballot``: when a later ballot supersedes it under the latest-counts rule."""
    return tuple(total - c for total, c in zip(aggregate, ballot.ciphertexts, strict=True))


def aggregate_of(rules: PollRules, ballots: list[Ballot]) -> Aggregate:
    """The aggregate of ``ballots`` computed afresh (what a verifier does)."""
    return tuple(elgamal.total([b.ciphertexts[i] for b in ballots]) for i in range(len(rules.options)))


def aggregate_to_json(aggregate: Aggregate) -> list[dict[str, str]]:
    """The wire form: one ``{"a", "b"}`` per option. The identity is allowed here (an option nobody chose)."""
    return [c.to_json() for c in aggregate]


def aggregate_from_json(data: object, rules: PollRules) -> Aggregate:
    """Decode a published aggregate (points may be the identity: 0 ballots give 0·G)."""
    if not isinstance(data, list) or len(data) != len(rules.options):
        raise TallyError(f"the aggregate must have {len(rules.options)} ciphertexts")
    result = []
    for i, item in enumerate(data):
        if not isinstance(item, dict) or set(item) != {"a", "b"}:
            raise TallyError(f"aggregate[{i}] must have exactly the fields a and b")
        result.append(
            Ciphertext(
                _point_or_identity(item["a"], f"aggregate[{i}].a"), _point_or_identity(item["b"], f"aggregate[{i}].b")
            )
        )
    return tuple(result)


def _point_or_identity(text: object, what: str) -> Point:
    if text == group.to_hex(group.IDENTITY):
        return group.IDENTITY
    return group.point_from_hex(text, what)


@dataclass(frozen=True, slots=True)
class PartialDecryption:
    """Trustee ``index``'s decryption share Dₒ = xᵢ·Aₒ of each option's aggregate, each with its proof."""

    index: int
    shares: tuple[tuple[Point, DecryptionProof], ...]

    def to_json(self) -> dict[str, Any]:
        """The wire form (docs/verification.md, "Partial decryption")."""
        return {
            "trustee": self.index,
            "shares": [{"share": group.to_hex(d), "proof": p.to_json()} for d, p in self.shares],
        }

    @classmethod
    def from_json(cls, data: object, rules: PollRules) -> PartialDecryption:
        """Decode a received partial decryption."""
        if not isinstance(data, dict) or set(data) != {"trustee", "shares"} or not isinstance(data["trustee"], int):
            raise TallyError("a partial decryption has exactly the fields trustee and shares")
        items = data["shares"]
        if not isinstance(items, list) or len(items) != len(rules.options):
            raise TallyError(f"a partial decryption has {len(rules.options)} shares")
        shares = []
        for i, item in enumerate(items):
            if not isinstance(item, dict) or set(item) != {"share", "proof"}:
                raise TallyError(f"shares[{i}] must have exactly the fields share and proof")
            try:
                shares.append(
                    (_point_or_identity(item["share"], f"shares[{i}]"), DecryptionProof.from_json(item["proof"]))
                )
            except ValueError as exc:
                raise TallyError(str(exc)) from None
        return cls(data["trustee"], tuple(shares))


def _statement(rules: PollRules, key: ElectionKey, aggregate: Aggregate, index: int, option: int) -> dict[str, object]:
    return {
        "poll": rules.poll_id,
        "election_key": group.to_hex(key.public_key),
        "aggregate": aggregate_to_json(aggregate),
        "trustee": index,
        "option": option,
    }


def decrypt_share(
    rules: PollRules, key: ElectionKey, index: int, share: Scalar, aggregate: Aggregate, rng: Rng = group.random_scalar
) -> PartialDecryption:
    """What `tinget trustee decrypt` computes: trustee ``index``'s shares of the aggregate, with proofs."""
    if group.base_mult(share) != key.verification_key(index):
        raise TallyError("this key share does not belong to this trustee of this election")
    shares = []
    for option, ciphertext in enumerate(aggregate):
        if ciphertext.a == group.IDENTITY:
            raise TallyError(
                "the aggregate is empty: no ballot counts on this board, so there is nothing to decrypt "
                "(the result is all zeros and is published without the trustees)"
            )
        statement = _statement(rules, key, aggregate, index, option)
        shares.append(proofs.prove_decryption(statement, share, ciphertext.a, rng))
    return PartialDecryption(index, tuple(shares))


def partial_problem(rules: PollRules, key: ElectionKey, aggregate: Aggregate, partial: PartialDecryption) -> str | None:
    """What is wrong with a partial decryption, or None when every share's proof holds."""
    if partial.index not in key.ceremony.indices:
        return f"trustee {partial.index} is not a trustee of this election"
    public = key.verification_key(partial.index)
    for option, ((share, proof), ciphertext) in enumerate(zip(partial.shares, aggregate, strict=True)):
        statement = _statement(rules, key, aggregate, partial.index, option)
        if not proofs.check_decryption(statement, public, ciphertext.a, share, proof):
            return f"trustee {partial.index}'s decryption proof for option {option} does not hold"
    return None


def lagrange_at_zero(index: int, indices: list[int]) -> int:
    """λᵢ = Πₘ≠ᵢ m / (m − i) mod ℓ over the trustees that took part (public)."""
    numerator, denominator = 1, 1
    for m in indices:
        if m != index:
            numerator = numerator * m % group.ORDER
            denominator = denominator * (m - index) % group.ORDER
    return numerator * pow(denominator, -1, group.ORDER) % group.ORDER


def count_points(aggregate: Aggregate, partials: list[PartialDecryption]) -> list[Point]:
    """count·G for each option: Bₒ − Σᵢ λᵢ·Dᵢₒ over the given (already checked) partial decryptions."""
    indices = [p.index for p in partials]
    if len(set(indices)) != len(indices):
        raise TallyError("a trustee's partial decryption is given twice")
    lambdas = [group.scalar_from_int(lagrange_at_zero(i, indices)) for i in indices]
    result = []
    for option, ciphertext in enumerate(aggregate):
        decryption = group.total(
            [group.mult(lam, p.shares[option][0]) for lam, p in zip(lambdas, partials, strict=True)]
        )
        result.append(group.sub(ciphertext.b, decryption))
    return result


def discrete_log(point: Point, bound: int) -> int:
    """The n in 0..bound with n·G = point, by baby-step giant-step (√bound additions each way)."""
    step = max(1, math.isqrt(bound) + 1)
    baby: dict[bytes, int] = {}
    current = group.IDENTITY
    for j in range(step):
        baby.setdefault(current, j)
        current = group.add(current, group.GENERATOR)
    giant = group.small_multiple(step)
    current = point
    for i in range(step + 1):
        if current in baby:
            found = i * step + baby[current]
            if found <= bound:
                return found
        current = group.sub(current, giant)
    raise TallyError(f"the decrypted value is not a count between 0 and {bound}")


def combine(
    rules: PollRules, key: ElectionKey, aggregate: Aggregate, partials: list[PartialDecryption], counted: int
) -> list[int]:
    """The counts per option from at least k checked partial decryptions (raises `TallyError`).

    With no counted ballot (``counted == 0``) the aggregate must be empty and no partial decryption is taken:
    the counts are all zeros, decrypted by nobody (D66)."""
    if counted == 0:
        if partials:
            raise TallyError("no ballot counts: there is nothing to decrypt, so no partial decryption is taken")
        if not is_empty(aggregate):
            raise TallyError("no ballot counts, but the aggregate is not the empty one")
        return [0 for _ in aggregate]
    if len({p.index for p in partials}) < key.ceremony.threshold:
        raise TallyError(f"need partial decryptions from at least {key.ceremony.threshold} trustees")
    for partial in partials:
        problem = partial_problem(rules, key, aggregate, partial)
        if problem:
            raise TallyError(problem)
    return [discrete_log(point, counted) for point in count_points(aggregate, partials)]
