"""The hash chain, free of any database: how an entry is hashed and how a sequence of entries is checked.

An entry's hash is ``canonical_hash`` (protocol/codec.py) of its fields, the previous entry's hash
included, so changing, removing or reordering any entry breaks every hash after it. The first entry follows
`GENESIS`.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from protocol.codec import CodecError, canonical_hash, decode, encode

GENESIS = "0" * 64
FORMAT_VERSION = 1
MAX_DETAILS_BYTES = 16_384  # details are a few facts about an action, never a document

# Details never carry these, whatever the caller meant (SEC-20): a slip in new code fails loudly in tests.
FORBIDDEN_KEYS = frozenset({"password", "pin", "code", "totp", "otp", "secret", "token", "personnummer", "pnr"})


class AuditError(ValueError):
    """An entry cannot be written as given (a forbidden detail, text the codec refuses): a bug."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One audit entry as stored and exported."""

    seq: int
    at: dt.datetime
    actor: str
    action: str
    subject: str
    details: Mapping[str, Any]
    prev_hash: str
    hash: str

    def as_record(self) -> dict[str, Any]:
        """The entry as a plain dict (one line of an export)."""
        return {
            "seq": self.seq,
            "at": format_time(self.at),
            "actor": self.actor,
            "action": self.action,
            "subject": self.subject,
            "details": dict(self.details),
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


@dataclass(frozen=True, slots=True)
class ChainReport:
    """The result of checking a chain: how many entries, and the first one that does not hold (if any)."""

    count: int
    head: str
    first_broken: int | None = None
    problem: str | None = None  # "missing", "link", "contents" or "unreadable"
    reason: str | None = None  # the same in a sentence (English, for logs)

    @property
    def ok(self) -> bool:
        """True when every entry holds."""
        return self.first_broken is None


def format_time(at: dt.datetime) -> str:
    """The one text form of an entry's time that gets hashed: UTC with microseconds."""
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> dt.datetime:
    """Read `format_time` back."""
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)


def clean_text(value: str) -> str:
    """Text as it enters the log: NFC (the codec refuses anything else)."""
    return unicodedata.normalize("NFC", value)


def clean_details(details: Mapping[str, Any] | None) -> dict[str, Any]:
    """Normalise the details' text to NFC and refuse keys that name a secret."""

    def walk(value: Any) -> Any:
        if isinstance(value, str):
            return clean_text(value)
        if isinstance(value, Mapping):
            out = {}
            for key, child in value.items():
                if str(key).lower() in FORBIDDEN_KEYS:
                    raise AuditError(f"audit details must not carry {key!r}")
                out[clean_text(str(key))] = walk(child)
            return out
        if isinstance(value, list | tuple | set | frozenset):
            items = sorted(value) if isinstance(value, set | frozenset) else value
            return [walk(item) for item in items]
        return value

    cleaned: dict[str, Any] = walk(dict(details or {}))
    try:
        size = len(encode(cleaned))
    except CodecError as exc:
        raise AuditError(f"audit details cannot be encoded: {exc}") from None
    if size > MAX_DETAILS_BYTES:
        raise AuditError(f"audit details are {size} bytes; the limit is {MAX_DETAILS_BYTES}")
    return cleaned


def details_text(details: Mapping[str, Any]) -> str:
    """The canonical JSON text stored for the details."""
    return encode(dict(details)).decode("utf-8")


def read_details(text: str) -> dict[str, Any]:
    """Decode stored details; raises `protocol.codec.DecodeError` when they are not canonical JSON."""
    value = decode(text.encode("utf-8"), max_size=MAX_DETAILS_BYTES * 2)
    if not isinstance(value, dict):
        raise CodecError("details are not a JSON object")
    return value


def entry_hash(
    *,
    seq: int,
    at: dt.datetime,
    actor: str,
    action: str,
    subject: str,
    details: Mapping[str, Any],
    prev_hash: str,
) -> str:
    """The hash that entry ``seq`` must carry."""
    return canonical_hash(
        {
            "v": FORMAT_VERSION,
            "seq": seq,
            "at": format_time(at),
            "actor": actor,
            "action": action,
            "subject": subject,
            "details": dict(details),
            "prev_hash": prev_hash,
        }
    )


def seal(
    *,
    seq: int,
    at: dt.datetime,
    actor: str,
    action: str,
    subject: str,
    details: Mapping[str, Any],
    prev_hash: str,
) -> Entry:
    """A new entry with its hash filled in."""
    digest = entry_hash(
        seq=seq, at=at, actor=actor, action=action, subject=subject, details=details, prev_hash=prev_hash
    )
    return Entry(seq, at, actor, action, subject, dict(details), prev_hash, digest)


def verify_entries(entries: Iterable[Entry | tuple[int, str]]) -> ChainReport:
    """Check entries in order of ``seq``; report the first that does not hold.

    An item may also be ``(seq, reason)``: an entry that could not even be read (its details are not canonical
    JSON, say), which is reported as broken with that reason.
    """
    count = 0
    prev_hash = GENESIS
    for item in entries:
        expected_seq = count + 1
        if isinstance(item, tuple):
            seq, reason = item
            return ChainReport(count, prev_hash, seq, "unreadable", reason)
        if item.seq != expected_seq:
            reason = f"entry {expected_seq} is missing (the next entry is {item.seq})"
            return ChainReport(count, prev_hash, expected_seq, "missing", reason)
        if item.prev_hash != prev_hash:
            return ChainReport(count, prev_hash, item.seq, "link", "its link to the previous entry does not match")
        recomputed = entry_hash(
            seq=item.seq,
            at=item.at,
            actor=item.actor,
            action=item.action,
            subject=item.subject,
            details=item.details,
            prev_hash=item.prev_hash,
        )
        if recomputed != item.hash:
            return ChainReport(count, prev_hash, item.seq, "contents", "its contents do not match its hash")
        count += 1
        prev_hash = item.hash
    return ChainReport(count, prev_hash)
