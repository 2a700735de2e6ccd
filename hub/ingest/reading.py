"""Reading what a device published: a protocol message, or a `Refusal` saying which kind of bad and why.

No database and no MQTT here. The categories let staff (and tests) tell a broken kiosk from an attack: a
payload over the size limit is refused before it is parsed; a sender that is not the device the broker
authenticated for the topic is "spoofed" (SEC-17, SEC-19).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from protocol import codec, messages, topics
from protocol.codec import DecodeError

MALFORMED = "malformed"  # not a valid message of its kind
OVERSIZE = "oversize"  # longer than the protocol's payload limit
SCHEMA = "schema"  # a schema version the hub does not read
TOPIC = "topic"  # not a device up topic the hub knows
SPOOFED = "spoofed"  # the payload's sender is not the device of the topic
REPLAY = "replay"  # every action of the batch was already recorded (absorbed and acked again)
ERROR = "error"  # the hub failed on it (a bug); kept so that nothing is lost
CATEGORIES = (MALFORMED, OVERSIZE, SCHEMA, TOPIC, SPOOFED, REPLAY, ERROR)

# Python's datetime ends in the year 9999; a kiosk may send any integer up to 2**53 ms.
_LATEST_MS = int(dt.datetime(9999, 12, 31, tzinfo=dt.UTC).timestamp() * 1000)


class Refusal(Exception):
    """A message the hub will not accept: ``category`` (one of `CATEGORIES`) and a reason for people."""

    def __init__(self, category: str, reason: str) -> None:
        super().__init__(reason)
        self.category = category
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Incoming:
    """A message as it came off the broker: where, and the bytes."""

    topic: str
    payload: bytes


def read_message(item: Incoming, *, max_size: int = messages.MAX_PAYLOAD_SIZE) -> messages.Message:
    """The message ``item`` carries, checked against its topic; `Refusal` for anything else."""
    try:
        device, kind = topics.parse_device_up(item.topic)
    except topics.TopicError as exc:
        raise Refusal(TOPIC, str(exc)) from None
    if len(item.payload) > max_size:
        raise Refusal(OVERSIZE, f"payload is {len(item.payload)} bytes; the limit is {max_size}")
    try:
        msg = messages.from_payload(kind, item.payload, max_size=max_size)
    except DecodeError as exc:
        raise Refusal(_schema_or_malformed(kind, item.payload, max_size), str(exc)) from None
    if msg.sender != device:
        raise Refusal(SPOOFED, f"{kind}: sender {msg.sender!r} is not the topic's device {device!r}")
    return msg


def _schema_or_malformed(kind: str, payload: bytes, max_size: int) -> str:
    """SCHEMA when the payload is a well-formed object of the right kind with another schema version."""
    try:
        obj = codec.decode(payload, max_size=max_size, canonical=False)
    except DecodeError:
        return MALFORMED
    expected = messages.MESSAGE_TYPES[kind].SCHEMA_VERSION
    if isinstance(obj, dict) and obj.get("kind") == kind and "schema" in obj and obj["schema"] != expected:
        return SCHEMA
    return MALFORMED


def from_ms(ms: int | None) -> dt.datetime | None:
    """A protocol time (Unix ms) as a UTC datetime; clamped to what a datetime holds, None stays None."""
    if ms is None:
        return None
    return dt.datetime.fromtimestamp(max(0, min(ms, _LATEST_MS)) / 1000, dt.UTC)
