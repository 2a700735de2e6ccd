"""The outer envelope: what the card and the kiosk sign, and the kiosk's signature check."""

from __future__ import annotations

from dataclasses import replace

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from protocol import codec
from protocol.ballots import ballot, envelope, group, poll
from protocol.ballots.envelope import Envelope

RULES = poll.yes_no_abstain("poll-7")


@pytest.fixture(scope="module")
def sealed() -> Envelope:
    cast = ballot.cast_ballot(RULES, group.base_mult(group.random_scalar()), frozenset({0}))
    return Envelope(cast, "pseudonym-hex", "ange", 1_760_000_000_000, "c0ffee", "5ea1ed")


def sign(key: ec.EllipticCurvePrivateKey, env: Envelope) -> Envelope:
    signature = key.sign(envelope.device_signing_bytes(env), ec.ECDSA(hashes.SHA256()))
    return replace(env, device_signature=signature.hex())


def test_a_device_signature_over_the_envelope_verifies_and_any_change_breaks_it(sealed: Envelope) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    signed = sign(key, sealed)
    assert envelope.verify_device_signature(key.public_key(), signed)
    other = ballot.cast_ballot(RULES, group.base_mult(group.random_scalar()), frozenset({1}))
    for changed in [
        replace(signed, pseudonym="someone-else"),
        replace(signed, device_id="follinge"),
        replace(signed, cast_at=signed.cast_at + 1),
        replace(signed, card_signature="c0ffef"),
        replace(signed, sealed_certificate=""),
        replace(signed, ballot=other),
        replace(signed, device_signature="zz"),
    ]:
        assert not envelope.verify_device_signature(key.public_key(), changed)
    assert not envelope.verify_device_signature(ec.generate_private_key(ec.SECP256R1()).public_key(), signed)
    assert not envelope.verify_device_signature(ec.generate_private_key(ec.SECP384R1()).public_key(), signed)


def test_the_card_signs_the_ballot_hash_bound_to_poll_voter_kiosk_and_time(sealed: Envelope) -> None:
    signed = codec.decode(envelope.card_signing_bytes(sealed), max_size=4096)
    assert signed == {
        "domain": envelope.CARD_DOMAIN,
        "poll": "poll-7",
        "ballot": sealed.tracking_hash,
        "pseudonym": "pseudonym-hex",
        "device": "ange",
        "cast_at": 1_760_000_000_000,
    }


def test_an_envelope_round_trips_and_refuses_malformed_fields(sealed: Envelope) -> None:
    data = sealed.to_json()
    assert Envelope.from_json(codec.decode(codec.encode(data), max_size=65536), RULES) == sealed
    for bad in [{**data, "cast_at": -1}, {**data, "cast_at": True}, {**data, "pseudonym": 5}, {**data, "x": 1}]:
        with pytest.raises(envelope.EnvelopeError):
            Envelope.from_json(bad, RULES)


def test_the_hub_check_names_a_bad_device_signature_or_a_bad_ballot(sealed: Envelope) -> None:
    device = ec.generate_private_key(ec.SECP256R1())
    key = group.base_mult(group.random_scalar())
    good = sign(device, replace(sealed, ballot=ballot.cast_ballot(RULES, key, frozenset({2}))))
    assert envelope.envelope_problem(RULES, key, good, device.public_key()) is None
    assert envelope.envelope_problem(RULES, key, replace(good, cast_at=1), device.public_key()) == (
        "the kiosk's signature does not hold"
    )
    other_key = group.base_mult(group.random_scalar())
    assert "does not hold" in (envelope.envelope_problem(RULES, other_key, good, device.public_key()) or "")
