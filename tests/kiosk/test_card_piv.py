"""PivCard against the pure-Python PivCardModel: certificate, PIN tries (SEC-03), signing, removal, hostile data."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Callable

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from cryptography.x509.oid import NameOID

from kiosk.card import CardRemoved, InvalidPinFormat, NotPivCard, PinBlocked, PinRequired, SignAlgorithm, WrongPin
from kiosk.card.errors import UnsupportedCard
from kiosk.card.model import PivCardModel
from kiosk.card.piv import PivCard, pkcs1_v15_block

PIN = "246810"
DIGEST = hashlib.sha256(b"challenge from the kiosk").digest()


def _certificate(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey, extra_names: int = 0) -> bytes:
    names = [x509.NameAttribute(NameOID.COMMON_NAME, "Test Testsson")]
    names += [x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, f"Enhet {i}") for i in range(extra_names)]
    name = x509.Name(names)
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER)


@pytest.fixture(scope="module")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def model(ec_key: ec.EllipticCurvePrivateKey) -> PivCardModel:
    return PivCardModel(ec_key, _certificate(ec_key), pin=PIN)


def test_reads_the_authentication_certificate(model: PivCardModel, ec_key: ec.EllipticCurvePrivateKey) -> None:
    """GET DATA 5FC105 returns the DER certificate from 53 / 70."""
    der = PivCard(model.transmit).read_certificate()
    assert x509.load_der_x509_certificate(der).public_key() == ec_key.public_key()


def test_a_certificate_over_256_bytes_comes_through_response_chaining(rsa_key: rsa.RSAPrivateKey) -> None:
    """61xx chaining: an RSA certificate with a long subject takes several GET RESPONSEs."""
    der = _certificate(rsa_key, extra_names=20)
    assert len(der) > 3 * 256
    model = PivCardModel(rsa_key, der, pin=PIN)
    assert PivCard(model.transmit).read_certificate() == der
    assert model.apdu_count >= 5  # SELECT, GET DATA and at least three GET RESPONSEs


def test_a_compressed_certificate_is_refused_clearly(model: PivCardModel) -> None:
    """CertInfo 01 (compressed) is refused with a message, not misread."""
    model.compressed = True
    with pytest.raises(UnsupportedCard, match="compressed"):
        PivCard(model.transmit).read_certificate()


def test_wrong_pins_show_tries_left_then_block(model: PivCardModel) -> None:
    """SEC-03: 3 → 2 → 1 → blocked; a blocked card refuses even the right PIN."""
    card = PivCard(model.transmit)
    assert card.pin_tries_left() == 3
    for left in (2, 1):
        with pytest.raises(WrongPin) as wrong:
            card.verify_pin("000000")
        assert wrong.value.tries_left == left and str(left) in wrong.value.message
        assert card.pin_tries_left() == left
    with pytest.raises(PinBlocked):
        card.verify_pin("000000")
    assert card.pin_tries_left() == 0
    with pytest.raises(PinBlocked):
        card.verify_pin(PIN)


def test_the_right_pin_resets_the_counter(model: PivCardModel) -> None:
    """SEC-03: a correct PIN restores all tries."""
    card = PivCard(model.transmit)
    with pytest.raises(WrongPin):
        card.verify_pin("99999999")
    card.verify_pin(PIN)
    assert card.pin_tries_left() is None  # verified in this session
    model.reset()
    assert PivCard(model.transmit).pin_tries_left() == 3


@pytest.mark.parametrize("pin", ["12345", "123456789", "12a456", "١٢٣٤٥٦", ""])
def test_a_malformed_pin_is_never_sent_to_the_card(model: PivCardModel, pin: str) -> None:
    """SEC-03: a PIN that is not 6–8 ASCII digits uses no try."""
    with pytest.raises(InvalidPinFormat):
        PivCard(model.transmit).verify_pin(pin)
    assert model.tries_left == 3 and model.apdu_count == 0


def test_the_pin_is_not_logged_and_its_buffer_is_wiped(model: PivCardModel, caplog: pytest.LogCaptureFixture) -> None:
    """SEC-03: no log record holds the PIN, and the APDU buffer that held it is zeroed after transmit."""
    seen: list[bytearray] = []

    def spy(apdu: bytes | bytearray) -> bytes:
        assert isinstance(apdu, bytearray)
        seen.append(apdu)
        return model.transmit(apdu)

    caplog.set_level(logging.DEBUG)
    card = PivCard(spy)
    with pytest.raises(WrongPin):
        card.verify_pin("13572468")
    card.verify_pin(PIN)
    assert all(not any(apdu) for apdu in seen)
    logged = "".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert PIN not in logged and "13572468" not in logged


def test_signs_a_p256_digest_the_certificate_key_verifies(model: PivCardModel) -> None:
    """GENERAL AUTHENTICATE with alg 11 gives an ECDSA signature over the digest."""
    card = PivCard(model.transmit)
    certificate = x509.load_der_x509_certificate(card.read_certificate())
    card.verify_pin(PIN)
    signature = card.sign(DIGEST, SignAlgorithm.ECC_P256)
    public_key = certificate.public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    public_key.verify(signature, DIGEST, ec.ECDSA(Prehashed(hashes.SHA256())))


def test_signs_an_rsa_2048_block_the_certificate_key_verifies(rsa_key: rsa.RSAPrivateKey) -> None:
    """Alg 07 with the caller's PKCS#1 v1.5 block (a chained command: the data is over 255 bytes)."""
    model = PivCardModel(rsa_key, _certificate(rsa_key), pin=PIN)
    card = PivCard(model.transmit)
    certificate = x509.load_der_x509_certificate(card.read_certificate())
    card.verify_pin(PIN)
    signature = card.sign(pkcs1_v15_block(DIGEST), SignAlgorithm.RSA_2048)
    public_key = certificate.public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)
    public_key.verify(signature, DIGEST, padding.PKCS1v15(), Prehashed(hashes.SHA256()))


def test_signing_before_verify_is_refused(model: PivCardModel) -> None:
    """The card signs only after a successful VERIFY in the same session."""
    card = PivCard(model.transmit)
    with pytest.raises(PinRequired):
        card.sign(DIGEST, SignAlgorithm.ECC_P256)
    card.verify_pin(PIN)
    model.reset()  # power cycle: a new session
    with pytest.raises(PinRequired):
        PivCard(model.transmit).sign(DIGEST, SignAlgorithm.ECC_P256)


def test_a_card_without_piv_is_refused(model: PivCardModel) -> None:
    """SELECT answered with 6A82 means NotPivCard."""
    with pytest.raises(NotPivCard):
        PivCard(lambda apdu: b"\x6a\x82").read_certificate()


def _flow(card: PivCard) -> None:
    card.read_certificate()
    card.pin_tries_left()
    card.verify_pin(PIN)
    card.sign(DIGEST, SignAlgorithm.ECC_P256)


def test_a_card_removed_at_each_step_raises_card_removed(ec_key: ec.EllipticCurvePrivateKey) -> None:
    """The card pulled after every APDU of the flow in turn always ends in CardRemoved (SEC-10's card side)."""
    der = _certificate(ec_key)
    full = PivCardModel(ec_key, der, pin=PIN)
    _flow(PivCard(full.transmit))
    for step in range(full.apdu_count):
        model = PivCardModel(ec_key, der, pin=PIN)

        def pulling(apdu: bytes | bytearray, model: PivCardModel = model, step: int = step) -> bytes:
            if model.apdu_count == step:
                model.remove()
            return model.transmit(apdu)

        with pytest.raises(CardRemoved):
            _flow(PivCard(pulling))


@pytest.mark.parametrize(
    "answer",
    [
        lambda apdu: b"\x61\x00\x90\x00" if apdu[1] == 0xA4 else b"\x53\x82\xff\xff\x90\x00",
        lambda apdu: b"\x90\x00" if apdu[1] == 0xA4 else b"\x53\x03\x70\x01\x30\x90\x00",
        lambda apdu: b"\x90\x00" if apdu[1] == 0xA4 else b"\x53\x06\x70\x02\x30\x00\x71\x00\x90\x00",
        lambda apdu: b"\x90\x00" if apdu[1] == 0xA4 else b"\x53\x00\x90\x00",
    ],
)
def test_malformed_certificate_objects_raise_card_data_error(answer: Callable[[bytes], bytes]) -> None:
    """SEC-13: malformed GET DATA answers end in the one documented exception."""
    from kiosk.card.errors import CardDataError

    with pytest.raises(CardDataError):
        PivCard(answer).read_certificate()
