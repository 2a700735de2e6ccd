"""What the hub tells kiosks about polls, and what a kiosk sends back: the contract of casting a ballot.

Two replicated sets carry polls to kiosks (fetched over mutual TLS, kept while the hub is away):

- ``polls``: every poll a kiosk may take ballots for, as `PollNotice`s, plus the hub's seal key (the public key a
  voter's certificate is sealed to inside the envelope: libsodium's sealed box, so only the hub can open it):

      {"seal_key": hex, "polls": [PollNotice.to_json(), …]}

- ``roll``: who may vote in each poll and who has already voted, as per-poll pseudonyms (a keyed hash of the
  personnummer, `protocol.identity.pseudonym`, never the number):

      {"polls": {poll id: {"eligible": [pseudonym, …], "voted": [pseudonym, …]}}}

A kiosk sends each ballot as an action of kind `BALLOT_KIND` whose body is `ballot_body`: the envelope
(`protocol.ballots.envelope.Envelope.to_json`) and the kiosk's device certificate (PEM), whose key made the
envelope's device signature and which the hub checks against the device CA and the sender.

Named polls (staff votes: signed, plain, public by name, `protocol.ballots.named`) travel in the same ``polls``
set under ``"named"`` (present only when there is one), as `NamedPollNotice`s: no key, no roll; the voters are
the staff on the hub-signed staff list, optionally only those with one of the poll's ``roles``. A kiosk sends
each named ballot as an action of kind `NAMED_BALLOT_KIND` whose body is `named_ballot_body`.

The pseudonym key of a poll (`PollNotice.roll_key`) is derived by the hub from its own secret (`roll_key_for`),
travels only in the polls set, and is what both sides use to turn a personnummer into that poll's pseudonym.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509

from protocol.ballots.envelope import Envelope
from protocol.ballots.keygen import ElectionKey
from protocol.ballots.named import NamedEnvelope
from protocol.ballots.poll import PollError, PollRules
from protocol.identity import Personnummer, pseudonym

BALLOT_KIND = "ballot"
NAMED_BALLOT_KIND = "named-ballot"
POLL_ID = re.compile(r"[a-z0-9][a-z0-9-]{1,62}")
_ROLL_DOMAIN = b"tinget/poll-roll-key/v1"
_HEX64 = re.compile(r"[0-9a-f]{64}")


class PollSetError(ValueError):
    """A polls or roll set is malformed; the message says where."""


def roll_key_for(hub_secret: bytes, poll_id: str) -> bytes:
    """The pseudonym key of one poll, derived from the hub's secret: another poll's key says nothing of it."""
    return hmac.new(hub_secret, _ROLL_DOMAIN + b"\x00" + poll_id.encode("ascii"), hashlib.sha256).digest()


def voter_pseudonym(roll_key: bytes, pnr: Personnummer, poll_id: str) -> str:
    """The voter's pseudonym in one poll (what the roll, the envelope and the board carry)."""
    return pseudonym(roll_key, pnr, poll_id)


@dataclass(frozen=True)
class PollNotice:
    """One poll as kiosks see it: what to show, what a ballot must satisfy, whom to encrypt for, and when."""

    rules: PollRules
    key: ElectionKey
    title: Mapping[str, str]  # language → text; Swedish always present
    description: Mapping[str, str]  # language → Markdown
    opens_at: int  # Unix ms
    closes_at: int  # Unix ms
    roll_key: bytes
    min_age: int | None = None
    board_url: str = ""  # the public page of the poll's bulletin board (receipts point there)
    option_labels: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # language → one label per option

    @property
    def poll_id(self) -> str:
        return self.rules.poll_id

    def is_open(self, at_ms: int) -> bool:
        """Whether a ballot cast at ``at_ms`` falls within the poll's schedule."""
        return self.opens_at <= at_ms < self.closes_at

    def labels(self, language: str) -> tuple[str, ...]:
        """The options as shown in ``language`` (Swedish, else the option names)."""
        return tuple(self.option_labels.get(language) or self.option_labels.get("sv") or self.rules.options)

    def to_json(self) -> dict[str, Any]:
        return {
            "rules": self.rules.to_json(),
            "key": self.key.to_json(),
            "title": dict(self.title),
            "description": dict(self.description),
            "options": {language: list(labels) for language, labels in self.option_labels.items()},
            "opens_at": self.opens_at,
            "closes_at": self.closes_at,
            "roll_key": self.roll_key.hex(),
            "min_age": self.min_age,
            "board_url": self.board_url,
        }

    @classmethod
    def from_json(cls, data: object) -> PollNotice:
        """Decode and check one poll of a polls set (`PollSetError` for anything malformed)."""
        keys = {"rules", "key", "title", "description", "options", "opens_at", "closes_at", "roll_key", "min_age"}
        if not isinstance(data, dict) or not keys <= set(data) or not set(data) <= keys | {"board_url"}:
            raise PollSetError(f"a poll has the fields {', '.join(sorted(keys | {'board_url'}))}")
        try:
            rules = PollRules.from_json(data["rules"])
            key = ElectionKey.from_json(data["key"])
            if key.ceremony.poll_id != rules.poll_id:
                raise PollSetError("the poll's key belongs to another poll")
            roll_key = bytes.fromhex(str(data["roll_key"]))
        except PollError as exc:
            raise PollSetError(f"poll rules: {exc}") from None
        except ValueError as exc:
            raise PollSetError(f"poll key: {exc}") from None
        title, description, options = data["title"], data["description"], data["options"]
        if not _texts(title) or "sv" not in title or not _texts(description) or not isinstance(options, dict):
            raise PollSetError("title and description are texts by language, Swedish included")
        labels = {str(lang): tuple(str(x) for x in labels) for lang, labels in options.items()}
        if any(len(texts) != len(rules.options) for texts in labels.values()):
            raise PollSetError("every language labels every option")
        opens_at, closes_at, min_age = data["opens_at"], data["closes_at"], data["min_age"]
        if not (_ms(opens_at) and _ms(closes_at) and opens_at < closes_at):
            raise PollSetError("opens_at and closes_at are Unix milliseconds, opening first")
        if min_age is not None and not (isinstance(min_age, int) and 0 <= min_age <= 130):
            raise PollSetError("min_age is a whole number of years, or null")
        if len(roll_key) < 16:
            raise PollSetError("the roll key is at least 16 bytes")
        return cls(
            rules,
            key,
            dict(title),
            dict(description),
            opens_at,
            closes_at,
            roll_key,
            min_age,
            str(data.get("board_url", "")),
            labels,
        )


@dataclass(frozen=True)
class NamedPollNotice:
    """A named poll as kiosks see it: what to show, what a ballot must satisfy, when, and which staff roles
    may vote (empty: every member on the staff list)."""

    rules: PollRules
    title: Mapping[str, str]
    description: Mapping[str, str]
    opens_at: int
    closes_at: int
    roles: tuple[str, ...] = ()
    board_url: str = ""
    option_labels: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def poll_id(self) -> str:
        return self.rules.poll_id

    def is_open(self, at_ms: int) -> bool:
        """Whether a ballot cast at ``at_ms`` falls within the poll's schedule."""
        return self.opens_at <= at_ms < self.closes_at

    def allows_roles(self, roles: Collection[str]) -> bool:
        """Whether a staff member with ``roles`` (from the staff list) may vote in this poll."""
        return bool(roles) and (not self.roles or any(role in self.roles for role in roles))

    def labels(self, language: str) -> tuple[str, ...]:
        """The options as shown in ``language`` (Swedish, else the option names)."""
        return tuple(self.option_labels.get(language) or self.option_labels.get("sv") or self.rules.options)

    def to_json(self) -> dict[str, Any]:
        return {
            "rules": self.rules.to_json(),
            "title": dict(self.title),
            "description": dict(self.description),
            "options": {language: list(labels) for language, labels in self.option_labels.items()},
            "opens_at": self.opens_at,
            "closes_at": self.closes_at,
            "roles": list(self.roles),
            "board_url": self.board_url,
        }

    @classmethod
    def from_json(cls, data: object) -> NamedPollNotice:
        """Decode and check one named poll of a polls set (`PollSetError` for anything malformed)."""
        keys = {"rules", "title", "description", "options", "opens_at", "closes_at", "roles", "board_url"}
        if not isinstance(data, dict) or set(data) != keys:
            raise PollSetError(f"a named poll has exactly the fields {', '.join(sorted(keys))}")
        try:
            rules = PollRules.from_json(data["rules"])
        except PollError as exc:
            raise PollSetError(f"poll rules: {exc}") from None
        title, description, labels = _shown(data, rules)
        roles = data["roles"]
        if not isinstance(roles, list) or not all(isinstance(r, str) and r for r in roles):
            raise PollSetError("roles is a list of role names")
        return cls(
            rules, title, description, data["opens_at"], data["closes_at"], tuple(roles), str(data["board_url"]), labels
        )


def _shown(data: dict[str, Any], rules: PollRules) -> tuple[dict[str, str], dict[str, str], dict[str, tuple[str, ...]]]:
    """A poll's title, description and option labels, with its schedule checked (`PollSetError`)."""
    title, description, options = data["title"], data["description"], data["options"]
    if not _texts(title) or "sv" not in title or not _texts(description) or not isinstance(options, dict):
        raise PollSetError("title and description are texts by language, Swedish included")
    labels = {str(lang): tuple(str(x) for x in labels) for lang, labels in options.items()}
    if any(len(texts) != len(rules.options) for texts in labels.values()):
        raise PollSetError("every language labels every option")
    if not (_ms(data["opens_at"]) and _ms(data["closes_at"]) and data["opens_at"] < data["closes_at"]):
        raise PollSetError("opens_at and closes_at are Unix milliseconds, opening first")
    return dict(title), dict(description), labels


@dataclass(frozen=True)
class PollsSet:
    """The ``polls`` set: the polls kiosks take ballots for, the hub's seal key, and the named polls."""

    seal_key: bytes
    polls: tuple[PollNotice, ...] = ()
    named: tuple[NamedPollNotice, ...] = ()

    def find(self, poll_id: str) -> PollNotice | None:
        return next((poll for poll in self.polls if poll.poll_id == poll_id), None)

    def find_named(self, poll_id: str) -> NamedPollNotice | None:
        return next((poll for poll in self.named if poll.poll_id == poll_id), None)

    def to_json(self) -> dict[str, Any]:
        content: dict[str, Any] = {"seal_key": self.seal_key.hex(), "polls": [poll.to_json() for poll in self.polls]}
        if self.named:  # absent when there is none: the set's bytes stay as they were before named polls
            content["named"] = [poll.to_json() for poll in self.named]
        return content

    @classmethod
    def from_json(cls, data: object) -> PollsSet:
        if (
            not isinstance(data, dict)
            or not {"seal_key", "polls"} <= set(data) <= {"seal_key", "polls", "named"}
            or not isinstance(data["polls"], list)
            or not isinstance(data.get("named", []), list)
        ):
            raise PollSetError("the polls set has exactly seal_key and polls, and named when there are named polls")
        try:
            seal_key = bytes.fromhex(str(data["seal_key"]))
        except ValueError:
            raise PollSetError("the seal key is hex") from None
        if len(seal_key) != 32:
            raise PollSetError("the seal key is a 32-byte X25519 public key")
        return cls(
            seal_key,
            tuple(PollNotice.from_json(poll) for poll in data["polls"]),
            tuple(NamedPollNotice.from_json(poll) for poll in data.get("named", [])),
        )


@dataclass(frozen=True)
class PollRoll:
    """Who may vote in one poll, and who has already (as the hub knew when it published the set)."""

    eligible: frozenset[str]
    voted: frozenset[str] = frozenset()

    def to_json(self) -> dict[str, Any]:
        return {"eligible": sorted(self.eligible), "voted": sorted(self.voted)}


def roll_from_json(data: object) -> dict[str, PollRoll]:
    """The ``roll`` set's content, poll by poll (`PollSetError` for anything malformed)."""
    if not isinstance(data, dict) or set(data) != {"polls"} or not isinstance(data["polls"], dict):
        raise PollSetError("the roll set has exactly polls")
    rolls = {}
    for poll_id, entry in data["polls"].items():
        if not isinstance(entry, dict) or set(entry) != {"eligible", "voted"}:
            raise PollSetError("a poll's roll has exactly eligible and voted")
        eligible, voted = entry["eligible"], entry["voted"]
        if not all(isinstance(p, str) and _HEX64.fullmatch(p) for p in (*eligible, *voted)):
            raise PollSetError("pseudonyms are 64 lower-case hex digits")
        rolls[str(poll_id)] = PollRoll(frozenset(eligible), frozenset(voted))
    return rolls


def roll_to_json(rolls: Mapping[str, PollRoll]) -> dict[str, Any]:
    """The ``roll`` set's content for these rolls."""
    return {"polls": {poll_id: roll.to_json() for poll_id, roll in sorted(rolls.items())}}


def ballot_body(envelope: Envelope, device_certificate_pem: str) -> dict[str, Any]:
    """The body of a `BALLOT_KIND` action."""
    return {"envelope": envelope.to_json(), "device_certificate": device_certificate_pem}


def parse_ballot_body(body: object, rules: PollRules) -> tuple[Envelope, x509.Certificate]:
    """The envelope and device certificate of a ballot action for ``rules``' poll; `PollSetError` (or the
    ballot layer's `ValueError`s) for anything malformed."""
    if not isinstance(body, dict) or set(body) != {"envelope", "device_certificate"}:
        raise PollSetError("a ballot action has exactly envelope and device_certificate")
    try:
        certificate = x509.load_pem_x509_certificate(str(body["device_certificate"]).encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise PollSetError("the device certificate cannot be read") from None
    return Envelope.from_json(body["envelope"], rules), certificate


def named_ballot_body(envelope: NamedEnvelope, device_certificate_pem: str) -> dict[str, Any]:
    """The body of a `NAMED_BALLOT_KIND` action."""
    return {"envelope": envelope.to_json(), "device_certificate": device_certificate_pem}


def parse_named_ballot_body(body: object, rules: PollRules) -> tuple[NamedEnvelope, x509.Certificate]:
    """The named envelope and device certificate of a named ballot action (`PollSetError`, or the named ballot
    layer's `ValueError`s, for anything malformed). `poll_id_of` finds its poll as for a secret ballot."""
    if not isinstance(body, dict) or set(body) != {"envelope", "device_certificate"}:
        raise PollSetError("a named ballot action has exactly envelope and device_certificate")
    try:
        certificate = x509.load_pem_x509_certificate(str(body["device_certificate"]).encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise PollSetError("the device certificate cannot be read") from None
    return NamedEnvelope.from_json(body["envelope"], rules), certificate


def seal_certificate(certificate_der: bytes, seal_key: bytes) -> str:
    """The voter's certificate sealed to the hub's seal key (libsodium's sealed box), hex: only the hub opens it."""
    import pysodium  # libsodium, loaded when first needed

    return bytes(pysodium.crypto_box_seal(certificate_der, seal_key)).hex()


def open_certificate(sealed_hex: str, seal_public: bytes, seal_secret: bytes) -> bytes:
    """The certificate inside a sealed box; `PollSetError` when it was not sealed to this key or is damaged."""
    import pysodium

    try:
        return bytes(pysodium.crypto_box_seal_open(bytes.fromhex(sealed_hex), seal_public, seal_secret))
    except (ValueError, TypeError) as exc:
        raise PollSetError(f"the sealed certificate cannot be opened ({type(exc).__name__})") from None


def poll_id_of(body: object) -> str:
    """The poll a ballot action is for (to find its rules before decoding it); `PollSetError` if none."""
    try:
        poll_id = body["envelope"]["ballot"]["poll"]  # type: ignore[index]
    except (KeyError, TypeError):
        raise PollSetError("a ballot action names its poll in envelope.ballot.poll") from None
    if not isinstance(poll_id, str) or POLL_ID.fullmatch(poll_id) is None:
        raise PollSetError("the poll id is not a slug")
    return poll_id


def _texts(value: object) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())


def _ms(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
