"""A bounded BER-TLV parser and encoder for card data (ISO 7816-4 / NIST SP 800-73 data objects).

Every byte a card returns is hostile (SEC-13): tags are at most 3 bytes, lengths at most 3 length bytes
(definite form only), nesting is limited to `MAX_DEPTH`, input to `MAX_SIZE` bytes and a parse to `MAX_ITEMS`
objects. Only `CardDataError` escapes from parsing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from kiosk.card.errors import CardDataError

MAX_SIZE = 65_536
MAX_DEPTH = 8
MAX_ITEMS = 4_096
MAX_TAG_BYTES = 3


@dataclass(frozen=True)
class Tlv:
    """One data object: `tag` as an int of its encoded bytes (0x5F50, 0x7C, ...) and its raw `value`."""

    tag: int
    value: bytes
    depth: int = field(default=1, compare=False)

    @property
    def constructed(self) -> bool:
        """True when the tag's first byte has the constructed bit (0x20) set."""
        return bool(_first_tag_byte(self.tag) & 0x20)

    def children(self, *, max_depth: int = MAX_DEPTH) -> list[Tlv]:
        """Parse the value as a list of nested data objects (one level deeper)."""
        return parse(self.value, max_depth=max_depth, depth=self.depth + 1)


def _first_tag_byte(tag: int) -> int:
    while tag > 0xFF:
        tag >>= 8
    return tag


def _read_tag(data: bytes, pos: int) -> tuple[int, int]:
    if pos >= len(data):
        raise CardDataError("Card data ends inside a tag.")
    first = data[pos]
    tag, pos = first, pos + 1
    if first & 0x1F != 0x1F:
        return tag, pos
    for count in range(2, MAX_TAG_BYTES + 1):
        if pos >= len(data):
            raise CardDataError("Card data ends inside a tag.")
        byte = data[pos]
        tag, pos = (tag << 8) | byte, pos + 1
        if not byte & 0x80:
            return tag, pos
        if count == MAX_TAG_BYTES:
            break
    raise CardDataError("Card data has a tag longer than 3 bytes.")


def _read_length(data: bytes, pos: int) -> tuple[int, int]:
    if pos >= len(data):
        raise CardDataError("Card data ends before a length.")
    first = data[pos]
    pos += 1
    if first < 0x80:
        return first, pos
    count = first & 0x7F
    if count == 0 or count > 3:
        raise CardDataError("Card data has an unsupported length form.")
    if pos + count > len(data):
        raise CardDataError("Card data ends inside a length.")
    return int.from_bytes(data[pos : pos + count], "big"), pos + count


def _iter(data: bytes, depth: int) -> Iterator[Tlv]:
    pos = 0
    while pos < len(data):
        tag, pos = _read_tag(data, pos)
        length, pos = _read_length(data, pos)
        if length > len(data) - pos:
            raise CardDataError("Card data has a length beyond its end.")
        yield Tlv(tag, bytes(data[pos : pos + length]), depth)
        pos += length


def parse(data: bytes, *, max_size: int = MAX_SIZE, max_depth: int = MAX_DEPTH, depth: int = 1) -> list[Tlv]:
    """Parse one level of `data` into data objects; nested ones are read with `Tlv.children()`.

    PIV does not follow BER's constructed bit (53 and 71 are "primitive" tags holding TLVs or a flag byte), so
    nesting is parsed only where the caller expects it; `depth` counts the levels and is bounded by `max_depth`.
    Raises `CardDataError` for anything malformed, too deep, larger than `max_size` or with more than
    `MAX_ITEMS` objects.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise CardDataError("Card data is not bytes.")
    if len(data) > max_size:
        raise CardDataError("Card data is too large.")
    if depth > max_depth:
        raise CardDataError("Card data is nested too deeply.")
    items: list[Tlv] = []
    for item in _iter(bytes(data), depth):
        items.append(item)
        if len(items) > MAX_ITEMS:
            raise CardDataError("Card data holds too many objects.")
    return items


def find(items: list[Tlv], tag: int) -> bytes:
    """Value of the first object with `tag`; `CardDataError` when it is missing."""
    for item in items:
        if item.tag == tag:
            return item.value
    raise CardDataError(f"Card data lacks the expected object {tag:X}.")


def single(data: bytes, tag: int, *, max_size: int = MAX_SIZE) -> bytes:
    """Value of `data` when it is exactly one object with `tag` and nothing after it."""
    items = parse(data, max_size=max_size)
    if len(items) != 1 or items[0].tag != tag:
        raise CardDataError(f"Card data is not a single {tag:X} object.")
    return items[0].value


def encode_tag(tag: int) -> bytes:
    """Encoded bytes of a tag given as an int (0x7C -> b'\\x7c', 0x5FC105 -> 3 bytes)."""
    if tag < 0 or tag > 0xFFFFFF:
        raise ValueError("tag out of range")
    return tag.to_bytes(max(1, (tag.bit_length() + 7) // 8), "big")


def encode_length(length: int) -> bytes:
    """BER definite length: short form below 0x80, else 0x81/0x82/0x83 and 1–3 bytes."""
    if length < 0 or length > 0xFFFFFF:
        raise ValueError("length out of range")
    if length < 0x80:
        return bytes([length])
    size = (length.bit_length() + 7) // 8
    return bytes([0x80 | size]) + length.to_bytes(size, "big")


def encode(tag: int, value: bytes) -> bytes:
    """One encoded data object."""
    return encode_tag(tag) + encode_length(len(value)) + bytes(value)
