"""Message types: exact round trips, and strict refusal of anything malformed with a named field (SEC-19)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
import unicodedata
from typing import Any, ClassVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import codec, topics
from protocol.codec import MAX_SAFE_INTEGER, DecodeError, EncodeError
from protocol.messages import (
    MAX_ACTIONS_PER_BATCH,
    MESSAGE_TYPES,
    READER_STATES,
    Ack,
    Action,
    ActionBatch,
    Command,
    DeviceState,
    Heartbeat,
    Message,
    SetVersion,
    decode_up,
    from_payload,
    message_id_time,
    new_message_id,
    now_ms,
    register,
    to_payload,
)

SETTINGS = settings(max_examples=200, deadline=None)

slugs = st.from_regex(r"[a-z0-9][a-z0-9-]{0,62}", fullmatch=True)
MSG_ID = r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
msg_ids = st.from_regex(MSG_ID, fullmatch=True)
counts = st.integers(min_value=0, max_value=MAX_SAFE_INTEGER)
integers = st.integers(min_value=-MAX_SAFE_INTEGER, max_value=MAX_SAFE_INTEGER)
nfc_text = st.text(max_size=12).map(lambda s: unicodedata.normalize("NFC", s))
json_values = st.recursive(
    st.none() | st.booleans() | integers | nfc_text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(nfc_text, children, max_size=4),
    max_leaves=12,
).filter(lambda v: codec.problem(v) is None)
bodies = st.dictionaries(nfc_text, json_values, max_size=4)
common: dict[str, st.SearchStrategy[Any]] = {"msg_id": msg_ids, "sender": slugs, "sent_at": counts}

actions = st.builds(Action, msg_id=msg_ids, kind=slugs, created_at=counts, body=bodies)
STRATEGIES: dict[type[Message], st.SearchStrategy[Any]] = {
    Heartbeat: st.builds(
        Heartbeat,
        version=st.from_regex(r"[!-~]{1,64}", fullmatch=True),
        uptime_s=counts,
        outbox_depth=counts,
        outbox_oldest_age_s=st.none() | counts,
        last_ack_at=st.none() | counts,
        cert_expires_at=st.none() | counts,
        reader_state=st.sampled_from(READER_STATES),
        clock_offset_ms=st.none() | integers,
        **common,
    ),
    DeviceState: st.builds(DeviceState, state=st.sampled_from(["online", "offline"]), **common),
    ActionBatch: st.builds(
        ActionBatch,
        actions=st.lists(actions, min_size=1, max_size=4, unique_by=lambda a: a.msg_id).map(tuple),
        **common,
    ),
    Ack: st.builds(Ack, batch_id=msg_ids, acked=st.lists(msg_ids, max_size=6, unique=True).map(tuple), **common),
    Command: st.builds(Command, command_id=msg_ids, name=st.sampled_from(["reload", "resync", "restart"]), **common),
    SetVersion: st.builds(
        SetVersion,
        name=st.sampled_from(sorted(topics.SET_NAMES)),
        version=counts,
        sha256=st.from_regex(r"[0-9a-f]{64}", fullmatch=True),
        url=st.from_regex(r"(https://[!-~]{1,40}|/([!-.0-~][!-~]{0,40})?)", fullmatch=True),
        **common,
    ),
}
messages = st.one_of(*STRATEGIES.values())


def heartbeat(**changes: Any) -> Heartbeat:
    fields: dict[str, Any] = {
        "msg_id": new_message_id(),
        "sender": "ange",
        "sent_at": now_ms(),
        "version": "0.1.0",
        "uptime_s": 60,
        "outbox_depth": 0,
        "outbox_oldest_age_s": None,
        "last_ack_at": None,
        "cert_expires_at": None,
        "reader_state": "unknown",
        "clock_offset_ms": None,
    }
    return Heartbeat(**(fields | changes))


def action(**changes: Any) -> Action:
    fields: dict[str, Any] = {"msg_id": new_message_id(), "kind": "checkin", "created_at": now_ms()}
    fields["body"] = {}
    return Action(**(fields | changes))


def test_every_registered_type_has_a_strategy_here() -> None:
    """A new message type cannot skip the property tests below."""
    assert set(MESSAGE_TYPES.values()) == set(STRATEGIES)


def test_every_up_and_down_topic_kind_is_a_message_kind() -> None:
    """The kind in a device's topic names the message type its payload must be."""
    assert set(MESSAGE_TYPES) >= topics.UP_KINDS | topics.DOWN_KINDS


@SETTINGS
@given(messages)
def test_every_message_round_trips_through_its_canonical_payload(msg: Message) -> None:
    """SEC-19: what `to_payload` writes, `from_payload` reads back equal, by kind and by type."""
    data = to_payload(msg)
    assert from_payload(type(msg), data) == msg
    assert from_payload(msg.KIND, data) == msg
    decoded = codec.decode(data, max_size=len(data))
    assert decoded["kind"] == msg.KIND and decoded["schema"] == msg.SCHEMA_VERSION
    assert hashlib.sha256(data).hexdigest() == codec.canonical_hash(decoded)


@SETTINGS
@given(st.sampled_from(sorted(MESSAGE_TYPES)), st.binary(max_size=400))
def test_arbitrary_bytes_raise_nothing_but_decode_error(kind: str, data: bytes) -> None:
    """SEC-19: hostile payloads on any kind give a `DecodeError`, never another exception."""
    with pytest.raises(DecodeError):
        from_payload(kind, data)


@SETTINGS
@given(messages, st.data())
def test_byte_mutated_payloads_are_decoded_or_refused_with_decode_error(msg: Message, data: st.DataObject) -> None:
    """SEC-19: flipping, dropping or inserting bytes in a valid payload never escapes as another error."""
    payload = bytearray(to_payload(msg))
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        at = data.draw(st.integers(min_value=0, max_value=len(payload) - 1))
        how = data.draw(st.sampled_from(["flip", "drop", "insert"]))
        if how == "flip":
            payload[at] ^= data.draw(st.integers(min_value=1, max_value=255))
        elif how == "drop":
            del payload[at]
        else:
            payload[at:at] = data.draw(st.binary(min_size=1, max_size=3))
    try:
        from_payload(msg.KIND, bytes(payload))
    except DecodeError as exc:
        assert str(exc)


@SETTINGS
@given(messages, st.data())
def test_a_missing_field_is_refused_by_name(msg: Message, data: st.DataObject) -> None:
    """SEC-19: drop any field of a valid message and the error names that field."""
    obj = json.loads(to_payload(msg))
    name = data.draw(st.sampled_from(sorted(obj)))
    del obj[name]
    with pytest.raises(DecodeError, match=name):
        from_payload(msg.KIND, codec.encode(obj))


@SETTINGS
@given(messages, slugs.filter(lambda s: "-" not in s).map(lambda s: f"x_{s}"), json_values)
def test_an_extra_field_is_refused_by_name(msg: Message, name: str, value: Any) -> None:
    """SEC-19: a field this peer does not know is refused, not ignored."""
    obj = json.loads(to_payload(msg)) | {name: value}
    with pytest.raises(DecodeError, match=f"unknown field.*{name[:40]}"):  # the message shows 40 characters
        from_payload(msg.KIND, codec.encode(obj))


@SETTINGS
@given(messages, st.data(), json_values)
def test_a_field_replaced_by_any_json_value_is_accepted_only_if_valid(
    msg: Message, data: st.DataObject, value: Any
) -> None:
    """SEC-19: any value in any field either makes a valid message or a `DecodeError` naming the field."""
    obj = json.loads(to_payload(msg))
    name = data.draw(st.sampled_from(sorted(set(obj) - {"kind", "schema"})))
    obj[name] = value
    try:
        again = from_payload(msg.KIND, codec.encode(obj))
    except DecodeError as exc:
        assert name in str(exc)
    else:
        assert to_payload(again) == codec.encode(obj)


@SETTINGS
@given(messages, integers.filter(lambda v: v != 1) | nfc_text | st.none() | st.booleans())
def test_an_unknown_schema_version_is_refused(msg: Message, schema: Any) -> None:
    """SEC-19: a wrongly versioned message is refused, saying which version this peer reads."""
    obj = json.loads(to_payload(msg)) | {"schema": schema}
    with pytest.raises(DecodeError, match=r"(?s)unsupported schema version .*\(we read 1\)"):
        from_payload(msg.KIND, codec.encode(obj))


def test_a_payload_of_another_kind_is_refused() -> None:
    """A heartbeat offered as an ack is refused, naming both kinds."""
    with pytest.raises(DecodeError, match="field kind is 'heartbeat', expected 'ack'"):
        from_payload(Ack, to_payload(heartbeat()))


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(DecodeError, match="unknown message kind 'ballot'"):
        from_payload("ballot", to_payload(heartbeat()))


def test_a_payload_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(DecodeError, match="heartbeat: payload must be a JSON object"):
        from_payload(Heartbeat, b"[]")


def test_a_non_canonical_payload_is_refused() -> None:
    """SEC-19: the same JSON with spaces is not the canonical encoding and is refused."""
    spaced = json.dumps(json.loads(to_payload(heartbeat())), sort_keys=True).encode()
    with pytest.raises(DecodeError, match="not in canonical form"):
        from_payload(Heartbeat, spaced)


def test_oversize_payloads_are_refused_on_both_sides() -> None:
    """SEC-19: the receiver refuses by length; the sender refuses to emit one."""
    data = to_payload(heartbeat())
    with pytest.raises(DecodeError, match="the limit is 100"):
        from_payload(Heartbeat, data, max_size=100)
    with pytest.raises(EncodeError, match="the limit is 100"):
        to_payload(heartbeat(), max_size=100)
    big = ActionBatch.create(sender="ange", actions=(action(body={"text": "x" * 300_000}),))
    with pytest.raises(EncodeError, match="actions payload is"):
        to_payload(big)


@pytest.mark.parametrize(
    ("make", "said"),
    [
        (lambda: heartbeat(uptime_s=-1), "heartbeat.uptime_s: must not be negative"),
        (lambda: heartbeat(uptime_s=True), "heartbeat.uptime_s: must be an integer"),
        (lambda: heartbeat(uptime_s=1.0), "heartbeat.uptime_s: must be an integer"),
        (lambda: heartbeat(sender="Änge"), "heartbeat.sender: must be a slug"),
        (lambda: heartbeat(sender="ange/up/#"), "heartbeat.sender: must be a slug"),
        (lambda: heartbeat(version="0.1 beta"), "heartbeat.version"),
        (lambda: heartbeat(reader_state="on"), "heartbeat.reader_state: must be one of"),
        (lambda: heartbeat(msg_id="42"), "heartbeat.msg_id: must be a message id"),
        (lambda: heartbeat(msg_id="0190e0c0-0000-4000-8000-000000000000"), "heartbeat.msg_id"),
        (lambda: ActionBatch.create(sender="ange", actions=()), "a batch holds 1 to 100 actions, got 0"),
        (lambda: ActionBatch.create(sender="ange", actions=[action()]), "actions.actions: must be an array"),
        (lambda: action(body={"amount": 1.5}), "action.body: floats are not allowed (got 1.5) at amount"),
        (lambda: action(body=[]), "action.body: must be an object"),
        (lambda: action(kind="Röst"), "action.kind: must be a slug"),
        (lambda: Ack.create(sender="hub", batch_id=new_message_id(), acked=("x",)), "ack.acked: [0] must be"),
        (lambda: Command.create(sender="hub", command_id=new_message_id(), name="format"), "command.name"),
        (
            lambda: SetVersion.create(sender="hub", name="polls", version=1, sha256="0" * 64, url="http://h/"),
            "set-version.url: must be an https:// URL or a path",
        ),
        (
            lambda: SetVersion.create(sender="hub", name="polls", version=1, sha256="0" * 64, url="//evil/x"),
            "set-version.url: must be an https:// URL or a path",
        ),
        (
            lambda: SetVersion.create(sender="hub", name="votes", version=1, sha256="0" * 64, url="/x"),
            "set-version.name: must be one of",
        ),
        (
            lambda: SetVersion.create(sender="hub", name="polls", version=1, sha256="A" * 64, url="/x"),
            "set-version.sha256: must be 64 lower-case hex digits",
        ),
    ],
)
def test_an_invalid_message_cannot_even_be_built(make: Any, said: str) -> None:
    """Construction checks the same rules as decoding, so a sender never emits what a receiver refuses."""
    with pytest.raises(ValueError) as caught:
        make()
    assert said in str(caught.value)


def test_a_batch_cannot_repeat_an_action_or_exceed_its_size() -> None:
    one = action()
    with pytest.raises(ValueError, match="actions repeat a msg_id"):
        ActionBatch.create(sender="ange", actions=(one, one))
    many = tuple(action() for _ in range(MAX_ACTIONS_PER_BATCH + 1))
    with pytest.raises(ValueError, match="got 101"):
        ActionBatch.create(sender="ange", actions=many)
    assert len(ActionBatch.create(sender="ange", actions=many[:-1]).actions) == MAX_ACTIONS_PER_BATCH


def test_a_nested_action_error_names_its_place_in_the_batch() -> None:
    """SEC-19: the error for a bad action says which action and which field."""
    obj = json.loads(to_payload(ActionBatch.create(sender="ange", actions=(action(), action()))))
    obj["actions"][1]["created_at"] = -5
    with pytest.raises(DecodeError, match=r"actions\.actions\[1\]\.created_at: must not be negative"):
        from_payload(ActionBatch, codec.encode(obj))


def test_messages_are_frozen_and_slotted() -> None:
    msg = heartbeat()
    with pytest.raises(dataclasses.FrozenInstanceError):
        msg.uptime_s = 1  # type: ignore[misc]
    assert not hasattr(msg, "__dict__")


def test_decode_up_checks_topic_kind_and_sender() -> None:
    """SEC-17: a payload's sender must be the device the broker authenticated on the topic."""
    data = to_payload(heartbeat())
    assert decode_up(topics.device_up("ange", "heartbeat"), data).sender == "ange"
    with pytest.raises(DecodeError, match="sender 'ange' is not the topic's device 'follinge'"):
        decode_up(topics.device_up("follinge", "heartbeat"), data)
    with pytest.raises(DecodeError, match="field kind is 'heartbeat', expected 'actions'"):
        decode_up(topics.device_up("ange", "actions"), data)
    with pytest.raises(DecodeError, match="is not of the form"):
        decode_up("tinget/v1/kiosk/ange/down/ack", data)


def test_register_refuses_a_second_type_of_the_same_kind_or_reserved_field_names() -> None:
    @dataclasses.dataclass(frozen=True, slots=True)
    class Twin(Message):
        KIND: ClassVar[str] = "heartbeat"

    @dataclasses.dataclass(frozen=True, slots=True)
    class Odd(Message):
        KIND: ClassVar[str] = "odd-one"
        schema: int

    for cls in (Twin, Odd):
        with pytest.raises(TypeError):
            register(cls)
    assert "odd-one" not in MESSAGE_TYPES


def test_message_ids_are_uuid7_text_that_sorts_by_creation_time() -> None:
    """Ids made later sort later, also thousands within one millisecond, and carry their creation time."""
    before = now_ms()
    ids = [new_message_id() for _ in range(5000)]
    after = now_ms()
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(len(i) == 36 and i[14] == "7" and i[19] in "89ab" for i in ids)
    assert before <= message_id_time(ids[0]) <= message_id_time(ids[-1]) <= after + 1
    time.sleep(0.002)
    assert new_message_id() > ids[-1]
    with pytest.raises(ValueError, match="not a message id"):
        message_id_time("not-an-id")


def test_a_forked_child_does_not_repeat_its_parents_next_id() -> None:
    """Two processes of one kiosk must never hand out the same message id."""
    new_message_id()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report two ids and leave without running any test machinery
        os.write(write, (new_message_id() + new_message_id()).encode())
        os._exit(0)
    os.close(write)
    mine = {new_message_id(), new_message_id()}
    os.waitpid(pid, 0)
    child = os.read(read, 200).decode()
    os.close(read)
    assert {child[:36], child[36:]}.isdisjoint(mine)
