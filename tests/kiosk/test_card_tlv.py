"""The bounded BER-TLV parser: round trips, limits, and hostile bytes (SEC-13)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.card import tlv
from kiosk.card.errors import CardDataError

PRIMITIVE_TAGS = st.sampled_from([0x02, 0x04, 0x70, 0x71, 0x81, 0x82, 0x5F50, 0x5F8101, 0x9F1F])
CONSTRUCTED_TAGS = st.sampled_from([0x30, 0x53, 0x61, 0x7C, 0x7F61, 0xBF7F01])


def _tree(depth: int = 3) -> st.SearchStrategy[bytes]:
    leaf = st.builds(tlv.encode, PRIMITIVE_TAGS, st.binary(max_size=300))
    if depth == 0:
        return leaf
    node = st.builds(
        lambda tag, children: tlv.encode(tag, b"".join(children)),
        CONSTRUCTED_TAGS,
        st.lists(_tree(depth - 1), max_size=3),
    )
    return st.one_of(leaf, node)


@given(st.lists(st.tuples(PRIMITIVE_TAGS, st.binary(max_size=70_000 // 8)), max_size=6))
@settings(deadline=500, max_examples=60)
def test_encoded_objects_parse_back_to_the_same_tags_and_values(objects: list[tuple[int, bytes]]) -> None:
    """SEC-13: what we encode, the parser reads back unchanged (short and long lengths, multi-byte tags)."""
    data = b"".join(tlv.encode(tag, value) for tag, value in objects)
    parsed = tlv.parse(data)
    assert [(item.tag, item.value) for item in parsed] == objects


@given(_tree())
@settings(deadline=500, max_examples=80)
def test_nested_trees_round_trip(data: bytes) -> None:
    """SEC-13: nested constructed objects parse and re-encode to the same bytes."""
    parsed = tlv.parse(data)
    assert b"".join(tlv.encode(item.tag, item.value) for item in parsed) == data


@given(st.binary(max_size=2_000))
@settings(deadline=200, max_examples=400)
def test_arbitrary_bytes_only_ever_raise_card_data_error(data: bytes) -> None:
    """SEC-13: any bytes either parse or raise CardDataError, quickly (hypothesis deadline is the time budget)."""
    try:
        stack = tlv.parse(data)
        while stack:
            item = stack.pop()
            if item.constructed:
                stack.extend(item.children())
    except CardDataError:
        pass


@given(
    st.lists(
        st.sampled_from(
            [
                b"\x30",
                b"\x7c",
                b"\x53",
                b"\x5f",
                b"\x1f",
                b"\x81",
                b"\x82",
                b"\x83",
                b"\x84",
                b"\x80",
                b"\xff",
                b"\x00",
                b"\x01",
                b"\x02",
            ]
        ),
        max_size=400,
    )
)
@settings(deadline=200, max_examples=300)
def test_adversarial_byte_soup_only_ever_raises_card_data_error(parts: list[bytes]) -> None:
    """SEC-13: inputs built from tag and length bytes (the interesting ones) never escape another exception."""
    with contextlib.suppress(CardDataError):
        tlv.parse(b"".join(parts))


def test_long_lengths_up_to_three_bytes_are_read() -> None:
    """Lengths 0x81, 0x82 and 0x83 forms are read."""
    assert tlv.parse(b"\x04\x81\x80" + b"a" * 128)[0].value == b"a" * 128
    assert tlv.parse(b"\x04\x82\x01\x00" + b"b" * 256)[0].value == b"b" * 256
    assert tlv.parse(b"\x04\x83\x00\x01\x00" + b"c" * 256)[0].value == b"c" * 256


@pytest.mark.parametrize(
    "data",
    [
        b"\x04\x80",  # indefinite length
        b"\x04\x84\x00\x00\x00\x01x",  # four length bytes
        b"\x04\x05abc",  # value beyond the end
        b"\x04",  # no length
        b"\x5f",  # tag cut short
        b"\x5f\x81\x81\x81\x01\x00",  # tag longer than 3 bytes
        b"\x04\x82\x01",  # length cut short
    ],
)
def test_malformed_objects_raise_card_data_error(data: bytes) -> None:
    """SEC-13: each malformation is refused with the one documented exception."""
    with pytest.raises(CardDataError):
        tlv.parse(data)


def test_nesting_deeper_than_the_limit_is_refused_without_recursion() -> None:
    """SEC-13: walking a deeply nested object stops at the depth limit, not at a RecursionError."""
    data = b"\x04\x00"
    for _ in range(2_000):
        data = tlv.encode(0x30, data)
    items = tlv.parse(data)
    with pytest.raises(CardDataError, match="nested too deeply"):
        for _ in range(2_000):
            items = items[0].children()
    assert items[0].depth == tlv.MAX_DEPTH
    shallow = tlv.encode(0x30, tlv.encode(0x30, b"\x04\x00"))
    assert tlv.parse(shallow)[0].children()[0].children()[0].value == b""


def test_input_over_the_size_limit_is_refused() -> None:
    """SEC-13: the total size is bounded."""
    with pytest.raises(CardDataError, match="too large"):
        tlv.parse(tlv.encode(0x04, bytes(tlv.MAX_SIZE)))


def test_too_many_objects_are_refused() -> None:
    """SEC-13: the object count is bounded."""
    with pytest.raises(CardDataError, match="too many"):
        tlv.parse(b"\x04\x00" * (tlv.MAX_ITEMS + 1))


def test_find_and_single_name_the_missing_object() -> None:
    """A missing or unexpected object is a CardDataError too."""
    items = tlv.parse(b"\x70\x01x\x71\x01\x00")
    assert tlv.find(items, 0x71) == b"\x00"
    with pytest.raises(CardDataError):
        tlv.find(items, 0x72)
    with pytest.raises(CardDataError):
        tlv.single(b"\x70\x01x\x71\x01\x00", 0x70)
