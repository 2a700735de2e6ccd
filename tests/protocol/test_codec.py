"""The canonical encoding: deterministic bytes, strict decoding, only `DecodeError` on bad input (SEC-19)."""

from __future__ import annotations

import hashlib
import json
import unicodedata
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import codec
from protocol.codec import MAX_SAFE_INTEGER, DecodeError, EncodeError, canonical_hash, decode, encode

SETTINGS = settings(max_examples=200, deadline=None)
LIMIT = 1 << 20

nfc_text = st.text(max_size=20).map(lambda s: unicodedata.normalize("NFC", s))
scalars = st.none() | st.booleans() | st.integers(min_value=-MAX_SAFE_INTEGER, max_value=MAX_SAFE_INTEGER) | nfc_text
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(nfc_text, children, max_size=5),
    max_leaves=25,
).filter(lambda v: codec.problem(v) is None)  # a rare chain of one-element arrays can nest past MAX_DEPTH


def reinserted(value: Any) -> Any:
    """The same value with every object's keys inserted in reverse order."""
    if isinstance(value, dict):
        return {k: reinserted(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [reinserted(v) for v in value]
    return value


@SETTINGS
@given(json_values)
def test_every_float_free_json_value_round_trips_through_the_canonical_bytes(value: Any) -> None:
    """SEC-19: what `encode` writes, `decode` reads back unchanged, and reads as canonical."""
    data = encode(value)
    assert decode(data, max_size=LIMIT) == value
    assert encode(decode(data, max_size=LIMIT)) == data


@SETTINGS
@given(json_values)
def test_canonical_bytes_do_not_depend_on_dict_insertion_order(value: Any) -> None:
    """The same object built in another order encodes to the same bytes and the same hash."""
    assert encode(reinserted(value)) == encode(value)
    assert canonical_hash(reinserted(value)) == canonical_hash(value)


@SETTINGS
@given(json_values)
def test_canonical_bytes_are_plain_compact_json_with_sorted_keys(value: Any) -> None:
    """Any JSON parser reads the bytes; re-serialising them compactly with sorted keys changes nothing."""
    data = encode(value)
    again = json.dumps(json.loads(data), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert again.encode() == data


@SETTINGS
@given(st.binary(max_size=300))
def test_decoding_arbitrary_bytes_raises_nothing_but_decode_error(data: bytes) -> None:
    """SEC-19: hostile bytes give a `DecodeError` with a message, never another exception."""
    for canonical in (True, False):
        try:
            decode(data, max_size=LIMIT, canonical=canonical)
        except DecodeError as exc:
            assert str(exc)


@SETTINGS
@given(json_values, st.data())
def test_decoding_mutated_valid_payloads_raises_nothing_but_decode_error(value: Any, data: st.DataObject) -> None:
    """SEC-19: a valid payload with bytes flipped, dropped or inserted is decoded or refused, nothing else."""
    payload = bytearray(encode(value))
    for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
        at = data.draw(st.integers(min_value=0, max_value=len(payload)))
        how = data.draw(st.sampled_from(["flip", "drop", "insert"]))
        if how == "insert" or not payload or at == len(payload):
            payload[at:at] = data.draw(st.binary(min_size=1, max_size=3))
        elif how == "drop":
            del payload[at]
        else:
            payload[at] ^= data.draw(st.integers(min_value=1, max_value=255))
    try:
        decode(bytes(payload), max_size=LIMIT, canonical=data.draw(st.booleans()))
    except DecodeError as exc:
        assert str(exc)


def test_the_canonical_form_is_exactly_as_documented() -> None:
    """Sorted keys, no spaces, UTF-8 text as is, the short JSON escapes, lower-case \\u00XX for the rest."""
    value = {"ö": 1, "b": [True, False, None], "a": 'Föllinge\n\t"\\/\x01\x7f\u2028'}
    expected = '{"a":"Föllinge\\n\\t\\"\\\\/\\u0001\x7f\u2028","b":[true,false,null],"ö":1}'
    assert encode(value) == expected.encode("utf-8")


def test_keys_sort_by_code_point_not_by_utf16_units() -> None:
    """An astral character sorts after U+FFFD, as in Python and by UTF-8 bytes (unlike RFC 8785's UTF-16)."""
    assert encode({"\U0001f600": 1, "\ufffd": 2}) == '{"\ufffd":2,"\U0001f600":1}'.encode()


def test_the_hash_is_the_sha256_of_the_canonical_bytes() -> None:
    """`canonical_hash` is what a peer in any language gets by hashing the canonical bytes."""
    value = {"z": 1, "a": ["Änge"]}
    assert canonical_hash(value) == hashlib.sha256('{"a":["Änge"],"z":1}'.encode()).hexdigest()
    assert len(canonical_hash(value)) == 64


@pytest.mark.parametrize(
    ("value", "said"),
    [
        (1.5, "floats are not allowed"),
        ({"a": [1, 2.0]}, "floats are not allowed (got 2.0) at a[1]"),
        (float("nan"), "floats are not allowed"),
        (2**53, "outside"),
        (-(2**53), "outside"),
        ({1: "x"}, "not a string"),
        ("e\u0301", "NFC"),
        ({"e\u0301": 1}, "NFC"),
        ("\ud800", "lone surrogate"),
        (b"bytes", "type bytes cannot be encoded"),
        ({"a": {1, 2}}, "type set cannot be encoded at a"),
        ([[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]], "nesting is deeper than 32"),
    ],
)
def test_encoding_refuses_what_has_no_canonical_form(value: Any, said: str) -> None:
    """Floats, big integers, non-string keys, non-NFC text and other types are a clear `EncodeError`."""
    with pytest.raises(EncodeError, match=None) as caught:
        encode(value)
    assert said in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_a_value_that_refers_to_itself_is_refused_not_looped_over() -> None:
    """A cycle hits the depth limit instead of hanging or overflowing the stack."""
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(EncodeError, match="nesting"):
        encode(loop)


def test_the_deepest_allowed_nesting_round_trips_and_one_more_is_refused() -> None:
    """`MAX_DEPTH` arrays nest; one more does not, on either side."""
    deep: Any = 1
    for _ in range(codec.MAX_DEPTH):
        deep = [deep]
    assert decode(encode(deep), max_size=LIMIT) == deep
    with pytest.raises(EncodeError):
        encode([deep])
    with pytest.raises(DecodeError, match="nesting"):
        decode(b"[" * (codec.MAX_DEPTH + 1) + b"]" * (codec.MAX_DEPTH + 1), max_size=LIMIT)


@pytest.mark.parametrize(
    ("data", "said"),
    [
        (b"\xff\xfe", "not valid UTF-8"),
        (b"\xef\xbb\xbf1", "not JSON"),
        (b"", "not JSON"),
        (b"{", "not JSON"),
        (b"[1,]", "not JSON"),
        (b"01", "not JSON"),
        (b"1.0", "floats are not allowed"),
        (b"1e3", "floats are not allowed"),
        (b"[NaN]", "NaN is not allowed"),
        (b"-Infinity", "-Infinity is not allowed"),
        (b"9007199254740992", "outside"),
        (b"-" + b"9" * 5000, "outside"),
        (b'{"a":1,"a":1}', "duplicate object key 'a'"),
        (b'"e\xcc\x81"', "NFC"),
        (b'"\\ud800"', "lone surrogate"),
        (b"[" * 5000 + b"]" * 5000, "nesting"),
        (b'"\x01"', "not JSON"),
    ],
)
def test_decoding_names_what_is_wrong(data: bytes, said: str) -> None:
    """SEC-19: every kind of bad payload gets a `DecodeError` that says what is wrong."""
    with pytest.raises(DecodeError) as caught:
        decode(data, max_size=LIMIT, canonical=False)
    assert said in str(caught.value)


@pytest.mark.parametrize(
    "data",
    [b'{"b":1,"a":2}', b'{"a": 2}', b" 1", b"1\n", b"-0", b'"\\u00e9"', b'"\\/"', b'"\\u001F"', b"[1 ]"],
)
def test_well_formed_but_not_canonical_json_is_refused_unless_asked_for(data: bytes) -> None:
    """Strict by default: a payload must be the canonical bytes of its value; lenient mode reads it."""
    with pytest.raises(DecodeError, match="not in canonical form"):
        decode(data, max_size=LIMIT)
    decode(data, max_size=LIMIT, canonical=False)


def test_a_payload_over_the_size_limit_is_refused_before_it_is_parsed() -> None:
    """SEC-19: oversize input is refused by its length alone, with both numbers in the message."""
    with pytest.raises(DecodeError, match="payload is 11 bytes; the limit is 10"):
        decode(b'"123456789"', max_size=10)
    assert decode(b'"12345678"', max_size=10) == "12345678"


def test_bytearray_and_memoryview_are_read_like_bytes() -> None:
    """Network code hands over buffers; they decode the same."""
    assert decode(bytearray(b"[1]"), max_size=10) == [1]
    assert decode(memoryview(b"[1]"), max_size=10) == [1]


def test_both_errors_are_value_errors_under_one_codec_error() -> None:
    """Callers catch `DecodeError` for peers' input; `CodecError` and `ValueError` catch both."""
    assert issubclass(DecodeError, codec.CodecError)
    assert issubclass(EncodeError, codec.CodecError)
    assert issubclass(codec.CodecError, ValueError)
