"""Whole elections for tests, test vectors and benchmarks, built through the public API only.

`seeded` gives a deterministic stand-in for libsodium's random scalars, so the same seed always makes the same
keys, ballots and proofs (test vectors); everything else passes `group.random_scalar`.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable
from dataclasses import dataclass

import pysodium

from protocol.ballots import ballot, board, keygen, record, tally
from protocol.ballots.board import BoardEntry
from protocol.ballots.group import Scalar
from protocol.ballots.keygen import Ceremony, ElectionKey
from protocol.ballots.poll import PollRules
from protocol.ballots.proofs import Rng


def seeded(seed: str) -> Rng:
    """A deterministic scalar source: SHA-512(seed ‖ counter) reduced mod ℓ by libsodium. Tests only."""
    counter = itertools.count()

    def next_scalar() -> Scalar:
        digest = hashlib.sha512(f"{seed}/{next(counter)}".encode()).digest()
        return Scalar(bytes(pysodium.crypto_core_ristretto255_scalar_reduce(digest)))

    return next_scalar


@dataclass(frozen=True)
class Election:
    """A finished key generation and the trustees' shares (which in life never meet in one place)."""

    rules: PollRules
    key: ElectionKey
    shares: dict[int, Scalar]


def run_keygen(ceremony: Ceremony, rng: Rng) -> tuple[ElectionKey, dict[int, Scalar]]:
    """All three rounds for every trustee, as the hub would relay them."""
    started = {i: keygen.start(ceremony, i, rng) for i in ceremony.indices}
    announcements = [a for _s, a in started.values()]
    sealed = {i: keygen.deliver(ceremony, s, announcements) for i, (s, _a) in started.items()}
    shares, confirmations = {}, []
    for j, (secrets, _a) in started.items():
        delivered = {i: boxes[j] for i, boxes in sealed.items() if i != j}
        shares[j], confirmation = keygen.finish(ceremony, secrets, announcements, delivered, rng)
        confirmations.append(confirmation)
    return keygen.complete(ceremony, announcements, confirmations), shares


def new_election(rules: PollRules, threshold: int = 2, trustees: int = 3, seed: str = "election") -> Election:
    """A poll with a k-of-n key."""
    names = tuple(f"trustee-{i}" for i in range(1, trustees + 1))
    key, shares = run_keygen(Ceremony(rules.poll_id, threshold, names), seeded(seed))
    return Election(rules, key, shares)


def cast_all(
    election: Election, casts: Iterable[tuple[str, int, frozenset[int]]], rng: Rng, rejected: int = 0
) -> list[BoardEntry]:
    """Board entries for (voter, cast_at, selected) in arrival order, then ``rejected`` rejected ones."""
    entries: list[BoardEntry] = []
    previous = None
    for voter, cast_at, selected in casts:
        cast = ballot.cast_ballot(election.rules, election.key.public_key, selected, rng)
        previous = board.accept(election.rules.poll_id, previous, cast, voter, cast_at)
        entries.append(previous)
    for n in range(rejected):
        code = hashlib.sha256(f"unreadable-{n}".encode()).hexdigest()
        previous = board.reject(election.rules.poll_id, previous, code, "the voter is not on the roll")
        entries.append(previous)
    return entries


def record_of(election: Election, entries: list[BoardEntry], trustees: tuple[int, ...], rng: Rng) -> list[bytes]:
    """The complete election record, decrypted by ``trustees``."""
    rules, key = election.rules, election.key
    states = board.statuses(entries, rules.revote)
    counted = [e.ballot for e, s in zip(entries, states, strict=True) if s == board.COUNTED and e.ballot]
    aggregate = tally.aggregate_of(rules, counted)
    # A board on which no ballot counts is published undecrypted (D66): no trustee takes part.
    partials = [tally.decrypt_share(rules, key, i, election.shares[i], aggregate, rng) for i in trustees if counted]
    aggregate, result = record.tally_result(rules, key, entries, partials)
    return list(record.record_lines(rules, key, entries, aggregate, partials, result))
