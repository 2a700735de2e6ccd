"""`codec.encode_valid`, the verifier's fast path, gives exactly `encode`'s bytes for every valid value."""

from __future__ import annotations

import unicodedata
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import codec

nfc_text = st.text(max_size=20).map(lambda s: unicodedata.normalize("NFC", s))
leaves = st.none() | st.booleans() | st.integers(-codec.MAX_SAFE_INTEGER, codec.MAX_SAFE_INTEGER) | nfc_text
values = st.recursive(
    leaves, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(nfc_text, inner, max_size=4), max_leaves=20
).filter(lambda v: codec.problem(v) is None)


@settings(max_examples=100, deadline=None)
@given(values)
def test_encode_valid_gives_the_canonical_bytes_of_every_valid_value(value: Any) -> None:
    assert codec.encode_valid(value) == codec.encode(value)
    assert codec.decode(codec.encode_valid(value), max_size=1 << 20) == codec.decode(
        codec.encode(value), max_size=1 << 20
    )
