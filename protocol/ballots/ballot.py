"""The inner ballot: one ciphertext per option, a proof that each holds 0 or 1, and (when the poll limits the
number of selections) a proof that their sum lies within the limits. Its tracking code is the SHA-256 of exactly
its canonical encoding (SEC-08): the receipt a voter later finds on the bulletin board.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Any

from protocol import codec
from protocol.ballots import elgamal, group, proofs, public_arithmetic
from protocol.ballots.elgamal import Ciphertext
from protocol.ballots.group import Point
from protocol.ballots.poll import PollRules
from protocol.ballots.proofs import RangeProof, Rng

BALLOT_FORMAT = "tinget/ballot/v2"
MAX_BALLOT_SIZE = 64 * 1024
"""A 64-option ballot is about 17 KB encoded; anything larger is refused before it is parsed."""
SHORT_CODE_BYTES = 10
"""The short tracking code shows the first 80 bits of the hash: 16 base32 characters in groups of four."""


class BallotError(ValueError):
    """A ballot is malformed: wrong shape, wrong poll, invalid encoding. The message names the field."""


@dataclass(frozen=True, slots=True)
class OptionCiphertext:
    """One option's encrypted 0 or 1 and the proof that it is 0 or 1."""

    ciphertext: Ciphertext
    proof: RangeProof


@dataclass(frozen=True, slots=True)
class Ballot:
    """An encrypted ballot as cast at a kiosk and published on the board."""

    poll_id: str
    options: tuple[OptionCiphertext, ...]
    selections: RangeProof | None

    def to_json(self) -> dict[str, Any]:
        """The wire form (docs/verification.md, "Ballot")."""
        return {
            "format": BALLOT_FORMAT,
            "poll": self.poll_id,
            "options": [{**o.ciphertext.to_json(), "proof": o.proof.to_json()} for o in self.options],
            "selections": None if self.selections is None else self.selections.to_json(),
        }

    def encoded(self) -> bytes:
        """The canonical bytes: what the kiosk stores and sends, and what the tracking code hashes."""
        return codec.encode_valid(self.to_json())  # hex digits and the poll id, which `PollRules` checked

    @property
    def tracking_hash(self) -> str:
        """SHA-256 of `encoded`, 64 hex digits: the full tracking code."""
        return tracking_hash(self.encoded())

    @property
    def ciphertexts(self) -> tuple[Ciphertext, ...]:
        """The per-option ciphertexts in option order."""
        return tuple(o.ciphertext for o in self.options)

    @classmethod
    def from_json(cls, data: object, rules: PollRules) -> Ballot:
        """Decode a received ballot for ``rules``' poll, validating every point and scalar (raises `BallotError`)."""
        try:
            return _ballot_from_json(data, rules)
        except (group.GroupError, proofs.ProofError) as exc:
            raise BallotError(str(exc)) from None

    @classmethod
    def from_bytes(cls, data: bytes, rules: PollRules) -> Ballot:
        """Decode canonical ballot bytes (raises `BallotError`, or `codec.DecodeError` for bad JSON)."""
        return cls.from_json(codec.decode(data, max_size=MAX_BALLOT_SIZE), rules)


def _ballot_from_json(data: object, rules: PollRules) -> Ballot:
    keys = {"format", "poll", "options", "selections"}
    if not isinstance(data, dict) or set(data) != keys:
        raise BallotError(f"a ballot has exactly the fields {', '.join(sorted(keys))}")
    if data["format"] != BALLOT_FORMAT:
        raise BallotError(f"unknown ballot format {str(data['format'])[:40]!r}")
    if data["poll"] != rules.poll_id:
        raise BallotError("the ballot is for another poll")
    items = data["options"]
    if not isinstance(items, list) or len(items) != len(rules.options):
        raise BallotError(f"the ballot must have {len(rules.options)} options")
    options = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or set(item) != {"a", "b", "proof"}:
            raise BallotError(f"options[{i}] must have exactly the fields a, b, proof")
        ciphertext = Ciphertext.from_json({"a": item["a"], "b": item["b"]}, f"options[{i}]")
        options.append(OptionCiphertext(ciphertext, RangeProof.from_json(item["proof"], 2, f"options[{i}].proof")))
    selections = None
    if rules.limits_selections:
        count = rules.max_selections - rules.min_selections + 1
        selections = RangeProof.from_json(data["selections"], count, "selections")
    elif data["selections"] is not None:
        raise BallotError("selections must be null when the poll does not limit them")
    return Ballot(rules.poll_id, tuple(options), selections)


def tracking_hash(encoded: bytes) -> str:
    """The full tracking code of a ballot's canonical bytes: SHA-256, 64 lower-case hex digits."""
    return hashlib.sha256(encoded).hexdigest()


def short_code(full_hash: str) -> str:
    """The code a voter is shown: the first 80 bits of the hash in base32, e.g. ``K7QM-3XTA-PL2B-9R4C``."""
    text = base64.b32encode(bytes.fromhex(full_hash)[:SHORT_CODE_BYTES]).decode("ascii")
    return "-".join(text[i : i + 4] for i in range(0, len(text), 4))


def _statement(rules: PollRules, ciphertexts: list[dict[str, str]], subject: str) -> dict[str, object]:
    return {"poll": rules.poll_id, "ballot": ciphertexts, "subject": subject}


def cast_ballot(rules: PollRules, key: Point, selected: frozenset[int], rng: Rng = group.random_scalar) -> Ballot:
    """Encrypt the choice of the options at indices ``selected`` and prove it valid: what the kiosk does.

    Every nonce is fresh from libsodium and is forgotten when this returns. Raises `ValueError` when the choice
    breaks the poll's limits (the kiosk's UI must not offer that).
    """
    if not rules.allows(selected):
        raise ValueError("the choice is outside the poll's limits")
    nonces = [rng() for _ in rules.options]
    ciphertexts = tuple(elgamal.encrypt_with_nonce(key, int(i in selected), n) for i, n in enumerate(nonces))
    public = [c.to_json() for c in ciphertexts]
    options = tuple(
        OptionCiphertext(
            c,
            proofs.prove_range(
                _statement(rules, public, f"option/{i}"), key, c, nonces[i], int(i in selected), 0, 1, rng
            ),
        )
        for i, c in enumerate(ciphertexts)
    )
    selections = None
    if rules.limits_selections:
        nonce_sum = nonces[0]
        for n in nonces[1:]:
            nonce_sum = group.scalar_add(nonce_sum, n)
        selections = proofs.prove_range(
            _statement(rules, public, "selections"),
            key,
            elgamal.total(list(ciphertexts)),
            nonce_sum,
            len(selected),
            rules.min_selections,
            rules.max_selections,
            rng,
        )
    return Ballot(rules.poll_id, options, selections)


def ballot_problem(rules: PollRules, key: Point, ballot: Ballot) -> str | None:
    """What is wrong with a decoded ballot's proofs, as a sentence, or None when every proof holds.

    Every proof's challenge is checked on its own; their equations are checked together, in one multi-scalar
    multiplication (`public_arithmetic.Equations`), and only when that fails is each proof checked alone, to name it.
    """
    if ballot.poll_id != rules.poll_id or len(ballot.options) != len(rules.options):
        return "the ballot does not fit the poll"
    if rules.limits_selections and ballot.selections is None:
        return "the proof of the number of selections is missing"
    if not rules.limits_selections and ballot.selections is not None:
        return "the ballot has a selections proof the poll does not call for"
    proved = _proved(rules, ballot)
    equations = public_arithmetic.Equations()
    for statement, ciphertext, proof, lo, hi, failure in proved:
        if not proofs.range_challenge_holds(statement, key, ciphertext, proof, lo, hi):
            return failure
        for terms in proofs.range_equations(key, ciphertext, proof, lo):
            equations.add(terms)
    if equations.hold():
        return None
    for statement, ciphertext, proof, lo, hi, failure in proved:
        if not proofs.check_range(statement, key, ciphertext, proof, lo, hi):
            return failure
    return "the ballot's proofs do not hold together"  # not reached: a failing batch has a failing proof


def _proved(rules: PollRules, ballot: Ballot) -> list[tuple[dict[str, object], Ciphertext, RangeProof, int, int, str]]:
    """Each range proof of a ballot with its statement, ciphertext, range and the sentence naming its failure."""
    ciphertexts = ballot.ciphertexts
    public = [c.to_json() for c in ciphertexts]
    proved = [
        (
            _statement(rules, public, f"option/{i}"),
            option.ciphertext,
            option.proof,
            0,
            1,
            f"the proof that option {i} holds 0 or 1 does not hold",
        )
        for i, option in enumerate(ballot.options)
    ]
    if ballot.selections is not None:
        total = elgamal.total(list(ciphertexts))
        lo, hi = rules.min_selections, rules.max_selections
        proved.append(
            (
                _statement(rules, public, "selections"),
                total,
                ballot.selections,
                lo,
                hi,
                f"the proof that {lo}..{hi} options are chosen does not hold",
            )
        )
    return proved
