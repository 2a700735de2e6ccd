"""The faster arithmetic for public data gives exactly libsodium's answers (the issue's condition for using it):
random and edge-case inputs through the C extension and through the libsodium fallback, compared."""

from __future__ import annotations

import pysodium
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.ballots import elgamal, group, proofs, public_arithmetic

SCALARS = st.one_of(
    st.sampled_from([0, 1, 2, 15, 16, 17, 2**128, group.ORDER - 1, group.ORDER, group.ORDER + 1, 2**253 - 1]),
    st.integers(min_value=0, max_value=2**256 - 1),
    st.integers(min_value=-(2**256), max_value=-1),
)
POINTS = st.one_of(
    st.just(group.GENERATOR),
    st.integers(min_value=1, max_value=group.ORDER - 1).map(lambda k: group.base_mult(group.scalar_from_int(k))),
)


def sodium_is_point(data: bytes) -> bool:
    """libsodium's verdict, with RFC 9496's bit-255 rule that libsodium leaves out."""
    return len(data) == 32 and bool(pysodium.crypto_core_ristretto255_is_valid_point(data)) and not data[-1] & 0x80


def sodium_combine(terms: list[tuple[int, group.Point]]) -> group.Point:
    return group.total([group.mult(group.scalar_from_int(c), p) for c, p in terms])


@pytest.fixture
def without_native(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(public_arithmetic, "_native", None)
    monkeypatch.setattr(group, "_decodes", None)


def test_the_extension_is_built_where_the_tests_run() -> None:
    """`make setup` compiles it; without it verification is slower (the benchmark prints which is in use)."""
    assert public_arithmetic.NATIVE and group._decodes is not None


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(SCALARS, POINTS), min_size=0, max_size=6))
def test_a_combination_is_what_libsodium_computes(terms: list[tuple[int, group.Point]]) -> None:
    assert public_arithmetic.combine(terms) == sodium_combine(terms)


@settings(max_examples=50, deadline=None)
@given(SCALARS, POINTS)
def test_a_point_minus_itself_is_the_identity(k: int, point: group.Point) -> None:
    assert public_arithmetic.combine([(k, point), (-k, point)]) == group.IDENTITY
    assert public_arithmetic.combine([(k, point), (group.ORDER - k, point)]) == group.IDENTITY


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=2**256 - 1), POINTS)
def test_scalars_up_to_256_bits_reach_the_native_code_unreduced(k: int, point: group.Point) -> None:
    """The digit recoding's carry past the top window: k and k mod ℓ give the same point."""
    native = public_arithmetic._native
    assert native is not None
    assert native.msm([(k.to_bytes(32, "little"), point)]) == public_arithmetic.combine([(k, point)])


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=32, max_size=32))
def test_a_point_is_valid_exactly_when_libsodium_and_rfc_9496_say_so(data: bytes) -> None:
    """libsodium ignores bit 255 of an encoding; RFC 9496 (and Tinget) refuse such a string."""
    assert group.is_point(data) == sodium_is_point(data)


@settings(max_examples=100, deadline=None)
@given(POINTS, st.integers(min_value=0, max_value=255))
def test_a_valid_point_with_one_bit_flipped_is_judged_like_libsodium(point: group.Point, bit: int) -> None:
    flipped = bytearray(point)
    flipped[bit // 8] ^= 1 << (bit % 8)
    data = bytes(flipped)
    assert group.is_point(point)
    assert group.is_point(data) == sodium_is_point(data)


def test_the_extension_refuses_what_is_not_a_point_with_a_clear_error() -> None:
    native = public_arithmetic._native
    assert native is not None
    with pytest.raises(TypeError, match="must be bytes"):
        native.is_valid_point(bytearray(group.GENERATOR))
    with pytest.raises(ValueError, match="32 bytes"):
        native.msm([(bytes(32), group.GENERATOR[:31])])
    with pytest.raises(ValueError, match="not a valid ristretto255 point"):
        native.sum_points([group.GENERATOR, b"\x01" + bytes(31)])
    assert native.msm([]) == native.sum_points([]) == group.IDENTITY


def test_the_refused_encodings_are_refused() -> None:
    p = 2**255 - 19
    for value in (p, p + 1, p + 2, 2**255 - 1, 1, 3):  # not canonical, or negative (odd)
        assert not group.is_point(value.to_bytes(32, "little"))
    top_bit = group.GENERATOR[:-1] + bytes([group.GENERATOR[-1] | 0x80])
    assert pysodium.crypto_core_ristretto255_is_valid_point(top_bit)  # libsodium takes it …
    assert not group.is_point(top_bit)  # … the RFC does not, nor do we
    with pytest.raises(group.GroupError):
        group.point_from_hex(top_bit.hex())


@settings(max_examples=30, deadline=None)
@given(st.lists(POINTS, min_size=0, max_size=12))
def test_a_total_is_libsodiums_sum(points: list[group.Point]) -> None:
    assert public_arithmetic.total(points) == group.total(points)


@pytest.mark.usefixtures("without_native")
def test_without_the_extension_libsodium_gives_the_same_answers() -> None:
    assert public_arithmetic._native is None and group._decodes is None
    point = group.base_mult(group.random_scalar())
    terms = [(5, point), (-3, group.GENERATOR), (group.ORDER - 1, point)]
    assert public_arithmetic.combine(terms) == sodium_combine(terms)
    assert public_arithmetic.total([point, point]) == group.add(point, point)
    assert group.is_point(point) and not group.is_point(bytes(31) + b"\x80")
    assert not group.is_point(group.GENERATOR[:-1] + bytes([group.GENERATOR[-1] | 0x80]))
    top_bit = group.Point(point[:-1] + bytes([point[-1] | 0x80]))
    for refused in (lambda: public_arithmetic.total([top_bit]), lambda: public_arithmetic.combine([(2, top_bit)])):
        with pytest.raises(ValueError, match="bit 255"):  # as the extension refuses it, though libsodium would not
            refused()
    key = group.base_mult(group.random_scalar())
    ciphertext, nonce = elgamal.encrypt(key, 1)
    proof = proofs.prove_range({"subject": "x"}, key, ciphertext, nonce, 1, 0, 1)
    assert proofs.check_range({"subject": "x"}, key, ciphertext, proof, 0, 1)
    assert not proofs.check_range({"subject": "x"}, key, ciphertext, proof, 1, 2)


@pytest.mark.parametrize("native", [True, False], ids=["extension", "libsodium"])
def test_equations_hold_together_only_when_each_holds(native: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    if not native:
        monkeypatch.setattr(public_arithmetic, "_native", None)
    point = group.base_mult(group.random_scalar())
    true = [(3, point), (-1, group.total([point, point, point]))]
    false = [(3, point), (-1, group.total([point, point]))]
    equations = public_arithmetic.Equations()
    assert equations.hold()  # none
    equations.add(true)
    equations.add(true)
    assert equations.hold()
    equations.add(false)
    assert not equations.hold()


def test_points_decoded_again_from_the_extensions_memory_are_the_same_points() -> None:
    """More points than it remembers (2,048 slots), so slots are shared and overwritten, in both orders."""
    points = [group.base_mult(group.random_scalar()) for _ in range(3000)]
    expected = [group.add(p, p) for p in points]
    for order in (points, points[::-1], points):
        assert all(group.is_point(p) for p in order)
        assert [public_arithmetic.total([p, p]) for p in points] == expected
        assert public_arithmetic.combine([(1, p) for p in order[:40]]) == group.total(order[:40])
