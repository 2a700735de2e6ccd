"""ristretto255 through libsodium: encodings, validation of every received value, and the challenge hash."""

from __future__ import annotations

import hashlib

import pysodium
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.ballots import group
from protocol.ballots.group import GroupError


def test_the_generator_is_libsodiums_base_point() -> None:
    assert group.base_mult(group.scalar_from_int(1)) == group.GENERATOR
    assert group.small_multiple(0) == group.IDENTITY


def test_a_received_point_must_be_a_canonical_non_identity_ristretto_encoding() -> None:
    good = group.to_hex(group.base_mult(group.random_scalar()))
    assert group.point_from_hex(good) == bytes.fromhex(good)
    for bad in [
        "00" * 32,  # the identity
        "ff" * 32,  # not canonical
        "01" + "00" * 31,  # odd: never a canonical encoding
        good.upper(),
        good[:-2],
        42,
    ]:
        with pytest.raises(GroupError):
            group.point_from_hex(bad)


def test_a_received_scalar_must_be_below_the_group_order() -> None:
    assert group.scalar_to_int(group.scalar_from_hex(group.to_hex(group.scalar_from_int(group.ORDER - 1)))) == (
        group.ORDER - 1
    )
    with pytest.raises(GroupError):
        group.scalar_from_hex(group.ORDER.to_bytes(32, "little").hex())


def test_challenges_are_domain_separated_and_bind_every_field() -> None:
    statement = {"poll": "p", "ciphertext": "x"}
    c = group.hash_to_scalar("tinget/test/a", statement)
    assert c != group.hash_to_scalar("tinget/test/b", statement)
    assert c != group.hash_to_scalar("tinget/test/a", {**statement, "poll": "q"})
    digest = hashlib.sha512(b'{"ciphertext":"x","domain":"tinget/test/a","poll":"p"}').digest()
    assert group.scalar_to_int(c) == int.from_bytes(digest, "little") % group.ORDER
    with pytest.raises(ValueError):
        group.hash_to_scalar("tinget/test/a", {"domain": "sneaky"})


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=0, max_value=group.ORDER - 1), st.integers(min_value=0, max_value=group.ORDER - 1))
def test_scalar_multiplication_is_a_homomorphism(x: int, y: int) -> None:
    sx, sy = group.scalar_from_int(x), group.scalar_from_int(y)
    assert group.add(group.base_mult(sx), group.base_mult(sy)) == group.base_mult(group.scalar_add(sx, sy))
    assert group.mult(sy, group.base_mult(sx)) == group.base_mult(group.scalar_mul(sx, sy))
    assert group.scalar_to_int(group.scalar_sub(sx, sy)) == (x - y) % group.ORDER


def test_random_scalars_come_from_libsodium_and_differ() -> None:
    assert len({group.random_scalar() for _ in range(100)}) == 100
    assert pysodium.crypto_core_ristretto255_SCALARBYTES == group.SIZE
