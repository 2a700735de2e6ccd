"""The trustees' distributed key generation: Pedersen's DKG with Feldman commitments, so that k of n trustees
can decrypt the tally and no one, the hub included, ever holds the election's private key (SEC-05).

Each trustee i draws a secret polynomial fᵢ of degree k − 1 and runs three rounds, the hub relaying files:

1. **announce**: a sealed-box public key, commitments Cᵢₗ = aᵢₗ·G to fᵢ's coefficients, and a Schnorr proof of
   knowledge of aᵢ₀;
2. **deliver**: fᵢ(j) for every other trustee j, each in a libsodium sealed box to j's announced key, so the hub
   relays what it cannot read;
3. **confirm**: j opens its shares, checks each against the sender's commitments (fᵢ(j)·G = Σₗ jˡ·Cᵢₗ), keeps
   xⱼ = Σᵢ fᵢ(j), and publishes Xⱼ = xⱼ·G with a proof of knowledge and the hash of the transcript it saw.

The election key is H = Σᵢ Cᵢ₀; anyone recomputes it and every Xⱼ = Σᵢ Σₗ jˡ·Cᵢₗ from the announcements.
Trustees compare `transcript_fingerprint` aloud: a hub that showed them different announcements is caught.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import pysodium

from protocol import codec
from protocol.ballots import group, proofs
from protocol.ballots.group import Point, Scalar
from protocol.ballots.proofs import KnowledgeProof, Rng

KEYGEN_FORMAT = "tinget/keygen/v1"
SHARE_FORMAT = "tinget/keygen/v1/share"
MAX_TRUSTEES = 32


ROUNDS = ("announce", "deliver", "confirm", "decrypt")
"""The kinds of file a trustee writes: ``{"round": kind, "poll": poll id, "body": …}`` (docs/verification.md)."""


class KeygenError(ValueError):
    """A key-generation step cannot go on; the message names the trustee and what did not hold."""


def round_file(kind: str, poll_id: str, body: object) -> dict[str, object]:
    """The file a trustee's round writes, for the hub to take in and relay."""
    if kind not in ROUNDS:
        raise ValueError(f"unknown round {kind!r}")
    return {"round": kind, "poll": poll_id, "body": body}


def round_body(data: object, kind: str, poll_id: str) -> Any:
    """The body of a received round file, which must be of ``kind`` for ``poll_id`` (raises `KeygenError`)."""
    if not isinstance(data, dict) or set(data) != {"round", "poll", "body"}:
        raise KeygenError("a round file has exactly the fields round, poll and body")
    if data["round"] != kind or data["poll"] != poll_id:
        raise KeygenError(f"expected a file of the round {kind!r} of poll {poll_id}")
    return data["body"]


@dataclass(frozen=True, slots=True)
class Ceremony:
    """Who takes part: the poll, the threshold k and the trustees' names (trustee i is ``trustees[i - 1]``)."""

    poll_id: str
    threshold: int
    trustees: tuple[str, ...]

    def __post_init__(self) -> None:
        if not 1 <= self.threshold <= len(self.trustees) <= MAX_TRUSTEES:
            raise KeygenError(f"need 1 ≤ threshold ≤ trustees ≤ {MAX_TRUSTEES}")
        if len(set(self.trustees)) != len(self.trustees) or not all(self.trustees):
            raise KeygenError("every trustee needs a distinct, non-empty name")
        bad_text = codec.problem(self.to_json())
        if bad_text:
            raise KeygenError(f"the ceremony cannot be encoded canonically: {bad_text}")

    @property
    def indices(self) -> range:
        """Trustee numbers 1..n."""
        return range(1, len(self.trustees) + 1)

    def to_json(self) -> dict[str, Any]:
        """The wire form."""
        return {
            "format": KEYGEN_FORMAT,
            "poll": self.poll_id,
            "threshold": self.threshold,
            "trustees": list(self.trustees),
        }

    @classmethod
    def from_json(cls, data: object) -> Ceremony:
        """Decode a ceremony description."""
        if not isinstance(data, dict) or set(data) != {"format", "poll", "threshold", "trustees"}:
            raise KeygenError("a ceremony has exactly the fields format, poll, threshold, trustees")
        if data["format"] != KEYGEN_FORMAT or not isinstance(data["trustees"], list):
            raise KeygenError("unknown ceremony format")
        if not isinstance(data["poll"], str) or not isinstance(data["threshold"], int):
            raise KeygenError("poll must be text and threshold an integer")
        return cls(data["poll"], data["threshold"], tuple(str(t) for t in data["trustees"]))


@dataclass(frozen=True, slots=True)
class Announcement:
    """Round 1 of trustee ``index``: its sealed-box key, its coefficient commitments, its proof."""

    index: int
    box_key: bytes
    commitments: tuple[Point, ...]
    proof: KnowledgeProof

    def to_json(self) -> dict[str, Any]:
        """The wire form."""
        return {
            "trustee": self.index,
            "box_key": self.box_key.hex(),
            "commitments": [group.to_hex(c) for c in self.commitments],
            "proof": self.proof.to_json(),
        }

    @classmethod
    def from_json(cls, data: object, ceremony: Ceremony) -> Announcement:
        """Decode a received announcement, validating every point."""
        if not isinstance(data, dict) or set(data) != {"trustee", "box_key", "commitments", "proof"}:
            raise KeygenError("an announcement has exactly the fields trustee, box_key, commitments, proof")
        index, commitments, box_key = data["trustee"], data["commitments"], data["box_key"]
        if index not in ceremony.indices:
            raise KeygenError("an announcement names no trustee of this ceremony")
        if not isinstance(commitments, list) or len(commitments) != ceremony.threshold:
            raise KeygenError(f"trustee {index}'s announcement must have {ceremony.threshold} commitments")
        if not isinstance(box_key, str) or len(box_key) != 64:
            raise KeygenError(f"trustee {index}'s box key must be 64 hex digits")
        try:
            points = tuple(group.point_from_hex(c, f"trustee {index}'s commitment") for c in commitments)
            return cls(index, bytes.fromhex(box_key), points, KnowledgeProof.from_json(data["proof"]))
        except ValueError as exc:
            raise KeygenError(str(exc)) from None


@dataclass(frozen=True, slots=True)
class TrusteeSecrets:
    """What a trustee keeps to itself between rounds (in a 0600 state file): never sent anywhere."""

    index: int
    box_public: bytes
    box_secret: bytes
    coefficients: tuple[Scalar, ...]


@dataclass(frozen=True, slots=True)
class Confirmation:
    """Round 3 of trustee ``index``: the transcript it saw, its verification key and a proof it holds the share."""

    index: int
    transcript: str
    verification_key: Point
    proof: KnowledgeProof

    def to_json(self) -> dict[str, Any]:
        """The wire form."""
        return {
            "trustee": self.index,
            "transcript": self.transcript,
            "verification_key": group.to_hex(self.verification_key),
            "proof": self.proof.to_json(),
        }

    @classmethod
    def from_json(cls, data: object) -> Confirmation:
        """Decode a received confirmation."""
        keys = {"trustee", "transcript", "verification_key", "proof"}
        if not isinstance(data, dict) or set(data) != keys or not isinstance(data["trustee"], int):
            raise KeygenError("a confirmation has exactly the fields " + ", ".join(sorted(keys)))
        if not isinstance(data["transcript"], str):
            raise KeygenError("a confirmation's transcript must be text")
        try:
            key = group.point_from_hex(data["verification_key"], "verification key")
            return cls(data["trustee"], data["transcript"], key, KnowledgeProof.from_json(data["proof"]))
        except ValueError as exc:
            raise KeygenError(str(exc)) from None


def _announcement_statement(
    ceremony: Ceremony, index: int, box_key: bytes, commitments: tuple[Point, ...]
) -> dict[str, object]:
    return {
        "poll": ceremony.poll_id,
        "subject": "announcement",
        "ceremony": ceremony.to_json(),
        "trustee": index,
        "box_key": box_key.hex(),
        "commitments": [group.to_hex(c) for c in commitments],
    }


def _share_statement(ceremony: Ceremony, transcript: str, index: int) -> dict[str, object]:
    return {"poll": ceremony.poll_id, "subject": "share", "transcript": transcript, "trustee": index}


def start(ceremony: Ceremony, index: int, rng: Rng = group.random_scalar) -> tuple[TrusteeSecrets, Announcement]:
    """Round 1 for trustee ``index``: a fresh polynomial and box key pair, and the announcement to publish."""
    if index not in ceremony.indices:
        raise KeygenError(f"there is no trustee {index} in this ceremony")
    box_public, box_secret = pysodium.crypto_box_seed_keypair(rng())  # a fresh libsodium scalar as the seed
    coefficients = tuple(rng() for _ in range(ceremony.threshold))
    commitments = tuple(group.base_mult(a) for a in coefficients)
    statement = _announcement_statement(ceremony, index, bytes(box_public), commitments)
    proof = proofs.prove_knowledge(statement, coefficients[0], rng)
    secrets = TrusteeSecrets(index, bytes(box_public), bytes(box_secret), coefficients)
    return secrets, Announcement(index, bytes(box_public), commitments, proof)


def check_announcements(ceremony: Ceremony, announcements: list[Announcement]) -> list[Announcement]:
    """All n announcements in trustee order, each with a valid proof; raises `KeygenError` naming the first bad one."""
    by_index = {a.index: a for a in announcements}
    if sorted(by_index) != list(ceremony.indices) or len(announcements) != len(by_index):
        raise KeygenError("need exactly one announcement from every trustee")
    for index in ceremony.indices:
        a = by_index[index]
        statement = _announcement_statement(ceremony, index, a.box_key, a.commitments)
        if not proofs.check_knowledge(statement, a.commitments[0], a.proof):
            raise KeygenError(f"trustee {index}'s proof of knowledge does not hold")
    return [by_index[i] for i in ceremony.indices]


def transcript_fingerprint(ceremony: Ceremony, announcements: list[Announcement]) -> str:
    """SHA-256 over the ceremony and every announcement: what all trustees must see the same of."""
    ordered = sorted(announcements, key=lambda a: a.index)
    body = {"ceremony": ceremony.to_json(), "announcements": [a.to_json() for a in ordered]}
    return hashlib.sha256(codec.encode({"domain": "tinget/keygen/v1/transcript", **body})).hexdigest()


def _evaluate(coefficients: tuple[Scalar, ...], at: int) -> Scalar:
    """f(at) by Horner's rule with libsodium's scalar operations (the coefficients are secret)."""
    x = group.scalar_from_int(at)
    value = coefficients[-1]
    for a in reversed(coefficients[:-1]):
        value = group.scalar_add(group.scalar_mul(value, x), a)
    return value


def _committed_value(commitments: tuple[Point, ...], at: int) -> Point:
    """Σₗ atˡ·Cₗ: the public image f(at)·G of a committed polynomial."""
    result = commitments[0]
    for power, c in enumerate(commitments[1:], start=1):
        result = group.add(result, group.mult(group.scalar_from_int(at**power), c))
    return result


def deliver(ceremony: Ceremony, secrets: TrusteeSecrets, announcements: list[Announcement]) -> dict[int, str]:
    """Round 2: fᵢ(j) for every other trustee j, sealed to j's box key: ``{j: hex}`` for the hub to relay."""
    ordered = check_announcements(ceremony, announcements)
    sealed: dict[int, str] = {}
    for a in ordered:
        if a.index == secrets.index:
            continue
        share = _evaluate(secrets.coefficients, a.index)
        body = {"format": SHARE_FORMAT, "poll": ceremony.poll_id, "from": secrets.index, "to": a.index}
        message = codec.encode({**body, "share": group.to_hex(share)})
        try:
            sealed[a.index] = bytes(pysodium.crypto_box_seal(message, a.box_key)).hex()
        except ValueError:  # libsodium refuses a key of small order
            raise KeygenError(f"trustee {a.index}'s box key cannot be sealed to") from None
    return sealed


def _open_share(ceremony: Ceremony, secrets: TrusteeSecrets, sender: int, sealed: str) -> Scalar:
    try:
        message = pysodium.crypto_box_seal_open(bytes.fromhex(sealed), secrets.box_public, secrets.box_secret)
        body = codec.decode(message, max_size=1024)
    except ValueError:
        raise KeygenError(f"the share from trustee {sender} cannot be opened") from None
    expected = {"format": SHARE_FORMAT, "poll": ceremony.poll_id, "from": sender, "to": secrets.index}
    if (
        not isinstance(body, dict)
        or {k: body.get(k) for k in expected} != expected
        or set(body) != {*expected, "share"}
    ):
        raise KeygenError(f"the share from trustee {sender} is not addressed to this trustee in this poll")
    try:
        return group.scalar_from_hex(body["share"])
    except ValueError:
        raise KeygenError(f"the share from trustee {sender} is not a scalar") from None


def finish(
    ceremony: Ceremony,
    secrets: TrusteeSecrets,
    announcements: list[Announcement],
    delivered: dict[int, str],
    rng: Rng = group.random_scalar,
) -> tuple[Scalar, Confirmation]:
    """Round 3: open the shares sent to this trustee (``{sender: hex}``), check each against its sender's
    commitments, and return this trustee's key share xⱼ and its confirmation. Raises `KeygenError` naming a
    trustee whose share does not match its commitments (the ceremony must then start again without it).
    """
    ordered = check_announcements(ceremony, announcements)
    me = secrets.index
    if ordered[me - 1].commitments != tuple(group.base_mult(a) for a in secrets.coefficients):
        raise KeygenError("the announcements do not hold this trustee's own round 1")
    if sorted(delivered) != [i for i in ceremony.indices if i != me]:
        raise KeygenError("need exactly one share from every other trustee")
    share = _evaluate(secrets.coefficients, me)
    for a in ordered:
        if a.index == me:
            continue
        received = _open_share(ceremony, secrets, a.index, delivered[a.index])
        if group.base_mult(received) != _committed_value(a.commitments, me):
            raise KeygenError(f"the share from trustee {a.index} does not match its commitments")
        share = group.scalar_add(share, received)
    transcript = transcript_fingerprint(ceremony, ordered)
    proof = proofs.prove_knowledge(_share_statement(ceremony, transcript, me), share, rng)
    return share, Confirmation(me, transcript, group.base_mult(share), proof)


@dataclass(frozen=True, slots=True)
class ElectionKey:
    """The outcome of a key generation: public, and all a voter, the hub or a verifier needs of it."""

    ceremony: Ceremony
    announcements: tuple[Announcement, ...]
    confirmations: tuple[Confirmation, ...]

    @property
    def public_key(self) -> Point:
        """H = Σᵢ Cᵢ₀."""
        return group.total([a.commitments[0] for a in self.announcements])

    def verification_key(self, index: int) -> Point:
        """Xⱼ = Σᵢ fᵢ(j)·G, computed from the commitments alone."""
        return group.total([_committed_value(a.commitments, index) for a in self.announcements])

    def to_json(self) -> dict[str, Any]:
        """The wire form (docs/verification.md, "Key generation")."""
        return {
            "ceremony": self.ceremony.to_json(),
            "announcements": [a.to_json() for a in self.announcements],
            "confirmations": [c.to_json() for c in self.confirmations],
            "public_key": group.to_hex(self.public_key),
        }

    @classmethod
    def from_json(cls, data: object) -> ElectionKey:
        """Decode and fully check a key-generation transcript (raises `KeygenError`)."""
        keys = {"ceremony", "announcements", "confirmations", "public_key"}
        if not isinstance(data, dict) or set(data) != keys:
            raise KeygenError("a key-generation transcript has exactly the fields " + ", ".join(sorted(keys)))
        ceremony = Ceremony.from_json(data["ceremony"])
        if not isinstance(data["announcements"], list) or not isinstance(data["confirmations"], list):
            raise KeygenError("announcements and confirmations must be lists")
        announcements = [Announcement.from_json(a, ceremony) for a in data["announcements"]]
        confirmations = [Confirmation.from_json(c) for c in data["confirmations"]]
        key = complete(ceremony, announcements, confirmations)
        if group.to_hex(key.public_key) != data["public_key"]:
            raise KeygenError("the public key is not the sum of the trustees' constant commitments")
        return key


def complete(ceremony: Ceremony, announcements: list[Announcement], confirmations: list[Confirmation]) -> ElectionKey:
    """The hub's last step: check every announcement and every trustee's confirmation; the election key."""
    ordered = check_announcements(ceremony, announcements)
    transcript = transcript_fingerprint(ceremony, ordered)
    by_index = {c.index: c for c in confirmations}
    if sorted(by_index) != list(ceremony.indices) or len(confirmations) != len(by_index):
        raise KeygenError("need exactly one confirmation from every trustee")
    key = ElectionKey(ceremony, tuple(ordered), tuple(by_index[i] for i in ceremony.indices))
    for index in ceremony.indices:
        c = by_index[index]
        if c.transcript != transcript:
            raise KeygenError(f"trustee {index} confirmed another transcript: the hub showed trustees different rounds")
        if c.verification_key != key.verification_key(index):
            raise KeygenError(f"trustee {index}'s verification key does not follow from the commitments")
        if not proofs.check_knowledge(_share_statement(ceremony, transcript, index), c.verification_key, c.proof):
            raise KeygenError(f"trustee {index}'s proof that it holds its share does not hold")
    return key
