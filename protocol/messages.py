"""Payload types of the MQTT protocol: frozen, slotted, versioned dataclasses, and their strict wire form.

Every message carries ``msg_id`` (a UUIDv7 from `new_message_id`), ``sender`` (a device id, or
`HUB_SENDER`) and ``sent_at`` (Unix time in milliseconds). On the wire a message is the canonical encoding
(`protocol.codec`) of one JSON object holding those fields, the type's own fields, ``"kind"`` and
``"schema"`` (its ``SCHEMA_VERSION``). `from_payload` refuses unknown kinds and schema versions, missing,
extra and wrongly typed fields, and oversize or non-canonical payloads, with a `DecodeError` that names the
field (SEC-19). Constructing an invalid message in code raises `ValueError` the same way, so `to_payload`
never emits one.

A new type is a dataclass decorated with `register`; a changed type gets a new ``SCHEMA_VERSION``.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
import threading
import time
import types
import typing
import uuid
from collections.abc import Callable, Mapping
from dataclasses import field
from typing import Any, ClassVar, Literal, Self, TypeVar, overload

from protocol import codec, topics
from protocol.codec import DecodeError, EncodeError

MAX_PAYLOAD_SIZE = 256 * 1024
"""Largest payload any message may have on the wire; bulk data travels over HTTPS (DESIGN.md decision 2)."""

MAX_SET_BYTES = 32 * 1024 * 1024
"""Largest replicated set a kiosk accepts (fetched over HTTPS); the hub refuses to publish a larger one."""

MAX_ACTIONS_PER_BATCH = 100
HUB_SENDER = "hub"
"""The ``sender`` of everything the hub publishes; provisioning never issues a device this id."""

ReaderState = Literal["ready", "card-present", "no-reader", "error", "unknown"]
READER_STATES: tuple[str, ...] = typing.get_args(ReaderState)
"""Card reader as a heartbeat reports it; "unknown" until the kiosk has a card service."""
JSONObject = dict[str, Any]

# ---- message ids: UUIDv7 (RFC 9562) in its 36-character lower-case text form -------------------------------
_MSG_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
_TAIL_BITS = 74  # rand_a (12) + rand_b (62): random at each new millisecond, counted up within one
_id_lock = threading.Lock()
_id_state = [0, 0]  # last (unix ms, tail) handed out by this process


def _reset_ids_after_fork() -> None:
    # A forked child must not count on from its parent's last id: both would hand out the same next one.
    global _id_lock
    _id_lock = threading.Lock()
    _id_state[:] = [0, 0]


os.register_at_fork(after_in_child=_reset_ids_after_fork)


def now_ms() -> int:
    """The current Unix time in integer milliseconds, the unit of every timestamp in the protocol."""
    return time.time_ns() // 1_000_000


def new_message_id() -> str:
    """A new 128-bit, time-ordered unique id (UUIDv7): its text sorts by creation time (to the millisecond).

    Ids from one process strictly increase, even within one millisecond or when the clock steps back.
    """
    with _id_lock:
        ms = now_ms()
        last_ms, last_tail = _id_state
        if ms <= last_ms:
            ms, tail = last_ms, last_tail + 1
            if tail >> _TAIL_BITS:
                ms, tail = ms + 1, int.from_bytes(os.urandom(10)) >> 6
        else:
            tail = int.from_bytes(os.urandom(10)) >> 6  # 80 random bits, keep 74
        _id_state[:] = [ms, tail]
    value = (ms << 80) | (0x7 << 76) | ((tail >> 62) << 64) | (0b10 << 62) | (tail & (2**62 - 1))
    return str(uuid.UUID(int=value))


def message_id_time(msg_id: str) -> int:
    """The Unix milliseconds at which a message id was made; `ValueError` if it is not a message id."""
    if not isinstance(msg_id, str) or _MSG_ID.fullmatch(msg_id) is None:
        raise ValueError(f"{str(msg_id)[:80]!r} is not a message id (a lower-case UUIDv7)")
    return uuid.UUID(msg_id).int >> 80


# ---- field checks: each returns what is wrong with a value, or None ----------------------------------------
Check = Callable[[Any], str | None]


def _is_msg_id(v: Any) -> str | None:
    return None if _MSG_ID.fullmatch(v) else "must be a message id (a lower-case UUIDv7)"


def _is_slug(v: Any) -> str | None:
    return None if topics.SLUG.fullmatch(v) else "must be a slug (1-63 of a-z, 0-9, '-')"


def _is_count(v: Any) -> str | None:
    return None if v >= 0 else f"must not be negative, got {v}"


def _is_version_text(v: Any) -> str | None:
    return None if re.fullmatch(r"[!-~]{1,64}", v) else "must be 1-64 printable ASCII characters, no spaces"


def _is_sha256(v: Any) -> str | None:
    return None if re.fullmatch(r"[0-9a-f]{64}", v) else "must be 64 lower-case hex digits"


def _is_set_name(v: Any) -> str | None:
    return None if v in topics.SET_NAMES else f"must be one of {', '.join(sorted(topics.SET_NAMES))}"


def _is_fetch_url(v: Any) -> str | None:
    # "//host/x" would be a URL on another host, not a path on the hub
    ok = re.fullmatch(r"(https://[!-~]+|/(?!/)[!-~]*)", v) is not None and len(v) <= 2048
    return None if ok else "must be an https:// URL or a path starting with one '/' (printable ASCII, ≤ 2048)"


def _each(check: Check) -> Check:
    def each(values: Any) -> str | None:
        for i, value in enumerate(values):
            problem = check(value)
            if problem:
                return f"[{i}] {problem}"
        return None

    return each


def _checks(*checks: Check) -> dict[str, Any]:
    """Field metadata: the checks a field's value must pass beyond its type."""
    return {"checks": checks}


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _type_problem(value: Any, hint: Any) -> str | None:
    """What is wrong with the type of ``value`` for the annotation ``hint``, or None."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        return _type_problem(value, next(a for a in args if a is not type(None)))
    if origin is Literal:
        return None if isinstance(value, str) and value in args else f"must be one of {', '.join(args)}"
    if origin is tuple:
        if not isinstance(value, tuple):
            return "must be an array (a tuple in Python)"
        return next((f"[{i}] {p}" for i, v in enumerate(value) if (p := _type_problem(v, args[0]))), None)
    if origin is dict:
        return codec.problem(value) if isinstance(value, dict) else "must be an object"
    if hint is bool:
        return None if isinstance(value, bool) else "must be true or false"
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            return "must be an integer"
        return None if abs(value) <= codec.MAX_SAFE_INTEGER else "must lie within ±(2**53 - 1)"
    if hint is str:
        return codec.problem(value) if isinstance(value, str) else "must be a string"
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return None if isinstance(value, hint) else f"must be {hint.__name__}"
    raise TypeError(f"messages cannot carry a field of type {hint!r}")  # a programming error in this module


def _check_fields(cls: type, values: Mapping[str, Any], label: str) -> None:
    """Raise `ValueError` naming ``label.field`` for the first field of ``cls`` that ``values`` gets wrong."""
    hints = _hints(cls)
    for f in dataclasses.fields(cls):
        value = values[f.name]
        problem = _type_problem(value, hints[f.name])
        if problem is None and value is not None:
            problem = next((p for check in f.metadata.get("checks", ()) if (p := check(value))), None)
        if problem:
            raise ValueError(f"{label}.{f.name}: {problem}")
    invariant: Callable[[Mapping[str, Any]], str | None] | None = getattr(cls, "_invariant", None)
    problem = invariant(values) if invariant else None
    if problem:
        raise ValueError(f"{label}: {problem}")


# ---- the types ---------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True, slots=True)
class Action:
    """One thing a resident or staff member did at a kiosk, as stored in the outbox (DESIGN.md decision 1)."""

    msg_id: str = field(metadata=_checks(_is_msg_id))
    kind: str = field(metadata=_checks(_is_slug))
    created_at: int = field(metadata=_checks(_is_count))
    body: JSONObject

    def __post_init__(self) -> None:
        _check_fields(type(self), {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}, "action")


@dataclasses.dataclass(frozen=True, slots=True)
class Message:
    """What every message carries. Subclasses set ``KIND`` and ``SCHEMA_VERSION`` and are `register`-ed."""

    KIND: ClassVar[str] = ""
    SCHEMA_VERSION: ClassVar[int] = 0

    msg_id: str = field(metadata=_checks(_is_msg_id))
    sender: str = field(metadata=_checks(_is_slug))
    sent_at: int = field(metadata=_checks(_is_count))

    def __post_init__(self) -> None:
        _check_fields(type(self), {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}, self.KIND)

    @classmethod
    def create(cls, *, sender: str, **fields: Any) -> Self:
        """A new message from ``sender`` with a fresh ``msg_id`` and ``sent_at`` set to now."""
        return cls(msg_id=new_message_id(), sender=sender, sent_at=now_ms(), **fields)


M = TypeVar("M", bound=Message)
_REGISTRY: dict[str, type[Message]] = {}
MESSAGE_TYPES: Mapping[str, type[Message]] = types.MappingProxyType(_REGISTRY)
"""Every message type by its ``KIND``."""


def register(cls: type[M]) -> type[M]:
    """Class decorator adding a message type to `MESSAGE_TYPES`."""
    names = {f.name for f in dataclasses.fields(cls)}
    if topics.SLUG.fullmatch(cls.KIND) is None or cls.KIND in _REGISTRY or names & {"kind", "schema"}:
        raise TypeError(f"{cls.__name__}: KIND must be a new slug and no field may be called 'kind' or 'schema'")
    _REGISTRY[cls.KIND] = cls
    return cls


@register
@dataclasses.dataclass(frozen=True, slots=True)
class Heartbeat(Message):
    """A device's periodic health report (up/heartbeat). Times are Unix ms; None means not known (yet)."""

    KIND: ClassVar[str] = topics.HEARTBEAT
    SCHEMA_VERSION: ClassVar[int] = 1

    version: str = field(metadata=_checks(_is_version_text))
    uptime_s: int = field(metadata=_checks(_is_count))
    outbox_depth: int = field(metadata=_checks(_is_count))
    outbox_oldest_age_s: int | None = field(metadata=_checks(_is_count))
    last_ack_at: int | None = field(metadata=_checks(_is_count))
    cert_expires_at: int | None = field(metadata=_checks(_is_count))
    reader_state: ReaderState
    clock_offset_ms: int | None


@register
@dataclasses.dataclass(frozen=True, slots=True)
class DeviceState(Message):
    """Online or offline (up/state, retained). The broker publishes the "offline" one as the last will."""

    KIND: ClassVar[str] = topics.STATE
    SCHEMA_VERSION: ClassVar[int] = 1

    state: Literal["online", "offline"]


@register
@dataclasses.dataclass(frozen=True, slots=True)
class ActionBatch(Message):
    """Outbox rows on their way to the hub (up/actions); ``msg_id`` is the batch id the `Ack` names."""

    KIND: ClassVar[str] = topics.ACTIONS
    SCHEMA_VERSION: ClassVar[int] = 1

    actions: tuple[Action, ...]

    @staticmethod
    def _invariant(values: Mapping[str, Any]) -> str | None:
        ids = [a.msg_id for a in values["actions"]]
        if not 1 <= len(ids) <= MAX_ACTIONS_PER_BATCH:
            return f"a batch holds 1 to {MAX_ACTIONS_PER_BATCH} actions, got {len(ids)}"
        return None if len(set(ids)) == len(ids) else "actions repeat a msg_id"


@register
@dataclasses.dataclass(frozen=True, slots=True)
class Ack(Message):
    """The hub has durably recorded these actions (down/ack): the kiosk may delete them from its outbox.

    "Recorded" covers actions the hub refused, too (it keeps them with the reason): they are never resent.
    """

    KIND: ClassVar[str] = topics.ACK
    SCHEMA_VERSION: ClassVar[int] = 1

    batch_id: str = field(metadata=_checks(_is_msg_id))
    acked: tuple[str, ...] = field(metadata=_checks(_each(_is_msg_id)))

    @staticmethod
    def _invariant(values: Mapping[str, Any]) -> str | None:
        return None if len(set(values["acked"])) == len(values["acked"]) else "acked repeats a msg_id"


@register
@dataclasses.dataclass(frozen=True, slots=True)
class Command(Message):
    """An instruction from the hub to one device (down/command); ``command_id`` stays the same on resends."""

    KIND: ClassVar[str] = topics.COMMAND
    SCHEMA_VERSION: ClassVar[int] = 1

    command_id: str = field(metadata=_checks(_is_msg_id))
    name: Literal["reload", "resync", "restart"]


@register
@dataclasses.dataclass(frozen=True, slots=True)
class SetVersion(Message):
    """The current version of a replicated set (sets/{name}, retained); the kiosk fetches ``url`` itself.

    ``version`` only grows; ``sha256`` is of the fetched bytes, which the kiosk checks before use (SEC-12).
    A ``url`` that is a path is relative to the kiosk's configured hub URL.
    """

    KIND: ClassVar[str] = "set-version"
    SCHEMA_VERSION: ClassVar[int] = 1

    name: str = field(metadata=_checks(_is_set_name))
    version: int = field(metadata=_checks(_is_count))
    sha256: str = field(metadata=_checks(_is_sha256))
    url: str = field(metadata=_checks(_is_fetch_url))


# ---- wire form ---------------------------------------------------------------------------------------------
def _to_json(value: Any) -> Any:
    if isinstance(value, Action):
        return {f.name: _to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return [_to_json(v) for v in value] if isinstance(value, tuple) else value


def to_payload(msg: Message, *, max_size: int = MAX_PAYLOAD_SIZE) -> bytes:
    """The canonical wire bytes of ``msg``; `EncodeError` if they would exceed ``max_size``."""
    fields = {f.name: _to_json(getattr(msg, f.name)) for f in dataclasses.fields(msg)}
    data = codec.encode({"kind": msg.KIND, "schema": msg.SCHEMA_VERSION, **fields})
    if len(data) > max_size:
        raise EncodeError(f"{msg.KIND} payload is {len(data)} bytes; the limit is {max_size}")
    return data


def _from_json(value: Any, hint: Any, path: str) -> Any:
    """Decoded JSON into field values (arrays into tuples, objects into `Action`s); checked afterwards."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType) and value is not None:
        return _from_json(value, next(a for a in typing.get_args(hint) if a is not type(None)), path)
    if origin is tuple and isinstance(value, list):
        return tuple(_from_json(v, typing.get_args(hint)[0], f"{path}[{i}]") for i, v in enumerate(value))
    if hint is Action:
        if not isinstance(value, dict):
            raise DecodeError(f"{path}: must be an object")
        return Action(**_fields_from_json(Action, value, path))
    return value


def _fields_from_json(cls: type, obj: dict[str, Any], path: str) -> dict[str, Any]:
    names = [f.name for f in dataclasses.fields(cls)]
    missing, extra = [n for n in names if n not in obj], sorted(set(obj) - set(names))
    if missing or extra:
        said = [f"missing field(s) {', '.join(missing)}"] if missing else []
        said += [f"unknown field(s) {', '.join(x[:40] for x in extra[:5])}"] if extra else []
        raise DecodeError(f"{path}: {'; '.join(said)}")
    values = {n: _from_json(obj[n], _hints(cls)[n], f"{path}.{n}") for n in names}
    try:
        _check_fields(cls, values, path)
    except ValueError as exc:
        raise DecodeError(str(exc)) from None
    return values


@overload
def from_payload(kind_or_type: type[M], data: bytes, *, max_size: int = MAX_PAYLOAD_SIZE) -> M: ...
@overload
def from_payload(kind_or_type: str, data: bytes, *, max_size: int = MAX_PAYLOAD_SIZE) -> Message: ...
def from_payload(kind_or_type: str | type[Message], data: bytes, *, max_size: int = MAX_PAYLOAD_SIZE) -> Message:
    """Decode and validate a payload that must be a message of the given kind (or type), or `DecodeError`."""
    if isinstance(kind_or_type, str):
        if kind_or_type not in _REGISTRY:
            raise DecodeError(f"unknown message kind {kind_or_type[:80]!r}")
        cls = _REGISTRY[kind_or_type]
    else:
        cls = kind_or_type
    obj = codec.decode(data, max_size=max_size)
    if not isinstance(obj, dict):
        raise DecodeError(f"{cls.KIND}: payload must be a JSON object")
    if "kind" not in obj or "schema" not in obj:
        raise DecodeError(f"{cls.KIND}: missing field {'kind' if 'kind' not in obj else 'schema'}")
    kind, schema = obj.pop("kind"), obj.pop("schema")
    if kind != cls.KIND:
        raise DecodeError(f"{cls.KIND}: field kind is {str(kind)[:80]!r}, expected {cls.KIND!r}")
    if schema != cls.SCHEMA_VERSION or isinstance(schema, bool):
        raise DecodeError(f"{cls.KIND}: unsupported schema version {str(schema)[:20]} (we read {cls.SCHEMA_VERSION})")
    return cls(**_fields_from_json(cls, obj, cls.KIND))


def decode_up(topic: str, data: bytes, *, max_size: int = MAX_PAYLOAD_SIZE) -> Message:
    """Decode what a device published on its up topic: the topic must parse, the payload's kind must be the
    topic's kind, and its sender must be the topic's device (the one the broker authenticated, SEC-17)."""
    try:
        device, kind = topics.parse_device_up(topic)
    except topics.TopicError as exc:
        raise DecodeError(str(exc)) from None
    msg = from_payload(kind, data, max_size=max_size)
    if msg.sender != device:
        raise DecodeError(f"{kind}: sender {msg.sender!r} is not the topic's device {device!r}")
    return msg
