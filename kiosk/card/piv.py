"""A PIV card over APDUs (NIST SP 800-73-4): SELECT, GET DATA (slot 9A certificate), VERIFY, GENERAL AUTHENTICATE.

The PIN is never logged, and the buffer holding it is overwritten after use (SEC-03). Card answers go through
the bounded TLV parser; malformed ones raise `CardDataError` (SEC-13).
"""

from __future__ import annotations

import logging

from kiosk.card import tlv
from kiosk.card.apdu import Command, Response, Transmit, transceive
from kiosk.card.errors import (
    CardDataError,
    CardError,
    InvalidPinFormat,
    NotPivCard,
    PinBlocked,
    PinRequired,
    UnsupportedCard,
    WrongPin,
)
from kiosk.card.interface import SignAlgorithm

log = logging.getLogger(__name__)

PIV_AID = bytes.fromhex("A000000308000010000100")
OBJECT_AUTH_CERT = bytes.fromhex("5FC105")
KEY_AUTH = 0x9A
PIN_REFERENCE = 0x80
PIN_LENGTH = 8

INS_SELECT = 0xA4
INS_GET_DATA = 0xCB
INS_VERIFY = 0x20
INS_GENERAL_AUTHENTICATE = 0x87

SW_NOT_FOUND = 0x6A82
SW_SECURITY_STATUS = 0x6982
SW_PIN_BLOCKED = 0x6983

# DER of the SHA-256 AlgorithmIdentifier + OCTET STRING header (RFC 8017 9.2 note 1).
SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")
RSA_2048_BYTES = 256


def pkcs1_v15_block(sha256_digest: bytes, size: int = RSA_2048_BYTES) -> bytes:
    """EMSA-PKCS1-v1_5 encoding of a SHA-256 digest: 00 01 FF.. 00 DigestInfo, `size` bytes for raw RSA."""
    if len(sha256_digest) != 32:
        raise ValueError("a SHA-256 digest is 32 bytes")
    info = SHA256_DIGEST_INFO + sha256_digest
    return b"\x00\x01" + b"\xff" * (size - len(info) - 3) + b"\x00" + info


def _status_error(response: Response, action: str) -> CardError:
    log.info("card refused %s", action, extra={"sw": f"{response.sw:04X}"})
    if response.sw == SW_SECURITY_STATUS:
        return PinRequired()
    if response.sw == SW_PIN_BLOCKED:
        return PinBlocked()
    return CardError()


class PivCard:
    """`Card` implementation for a PIV application reached through `transmit(bytes) -> bytes`."""

    def __init__(self, transmit: Transmit) -> None:
        self._transmit = transmit
        self._selected = False

    def _run(self, command: Command) -> Response:
        if not self._selected:
            self.select()
        return transceive(self._transmit, command)

    def select(self) -> None:
        """SELECT the PIV application; `NotPivCard` when the card has none."""
        response = transceive(self._transmit, Command(0x00, INS_SELECT, 0x04, 0x00, PIV_AID, le=256))
        if response.sw == SW_NOT_FOUND or (response.ok is False and response.sw1 in (0x6A, 0x6D, 0x6E)):
            raise NotPivCard()
        if not response.ok:
            raise _status_error(response, "SELECT")
        if response.data:
            tlv.single(response.data, 0x61)  # application property template; checks it is well formed
        self._selected = True

    def read_certificate(self) -> bytes:
        """DER of the card authentication certificate (slot 9A, object 5FC105), not yet validated."""
        response = self._run(Command(0x00, INS_GET_DATA, 0x3F, 0xFF, tlv.encode(0x5C, OBJECT_AUTH_CERT), le=256))
        if response.sw == SW_NOT_FOUND:
            raise CardError("The card holds no certificate.")
        if not response.ok:
            raise _status_error(response, "GET DATA")
        items = tlv.parse(tlv.single(response.data, 0x53))
        certificate = tlv.find(items, 0x70)
        info = next((item.value for item in items if item.tag == 0x71), b"\x00")
        if len(info) != 1:
            raise CardDataError("The card's certificate information is malformed.")
        if info[0] & 0x01:
            raise UnsupportedCard("The card's certificate is compressed, which the kiosk does not support.")
        tlv.single(certificate, 0x30)  # one DER SEQUENCE, nothing after it
        return certificate

    def pin_tries_left(self) -> int | None:
        """VERIFY with no data: 63Cx gives the tries left, 6983 means blocked (0), 9000 already verified."""
        response = self._run(Command(0x00, INS_VERIFY, 0x00, PIN_REFERENCE))
        if response.ok:
            return None
        if response.sw1 == 0x63 and response.sw2 & 0xF0 == 0xC0:
            return response.sw2 & 0x0F
        if response.sw == SW_PIN_BLOCKED:
            return 0
        raise _status_error(response, "VERIFY")

    def verify_pin(self, pin: str) -> None:
        """Verify a 6–8 digit PIN (padded with FF to 8 bytes); `WrongPin(tries_left)` or `PinBlocked` on refusal."""
        if not (6 <= len(pin) <= PIN_LENGTH and pin.isascii() and pin.isdigit()):
            raise InvalidPinFormat()
        buffer = bytearray(b"\xff" * PIN_LENGTH)
        try:
            buffer[: len(pin)] = pin.encode("ascii")
            response = self._run(Command(0x00, INS_VERIFY, 0x00, PIN_REFERENCE, buffer))
        finally:
            buffer[:] = bytes(PIN_LENGTH)
        if response.ok:
            log.info("card PIN verified")
            return
        if response.sw1 == 0x63 and response.sw2 & 0xF0 == 0xC0:
            tries = response.sw2 & 0x0F
            log.info("card PIN refused", extra={"tries_left": tries})
            if tries == 0:
                raise PinBlocked()
            raise WrongPin(tries)
        raise _status_error(response, "VERIFY")

    def sign(self, digest: bytes, algorithm: SignAlgorithm) -> bytes:
        """GENERAL AUTHENTICATE with key 9A: 7C { 82 00, 81 challenge } -> 7C { 82 signature }."""
        algorithm = SignAlgorithm(algorithm)
        if algorithm is SignAlgorithm.ECC_P256 and len(digest) != 32:
            raise ValueError("a P-256 signature takes a 32-byte SHA-256 digest")
        if algorithm is SignAlgorithm.RSA_2048 and len(digest) != RSA_2048_BYTES:
            raise ValueError("an RSA-2048 signature takes a 256-byte PKCS#1 v1.5 block (see pkcs1_v15_block)")
        template = tlv.encode(0x7C, tlv.encode(0x82, b"") + tlv.encode(0x81, digest))
        response = self._run(Command(0x00, INS_GENERAL_AUTHENTICATE, int(algorithm), KEY_AUTH, template, le=256))
        if not response.ok:
            raise _status_error(response, "GENERAL AUTHENTICATE")
        signature = tlv.find(tlv.parse(tlv.single(response.data, 0x7C)), 0x82)
        if algorithm is SignAlgorithm.RSA_2048:
            if len(signature) != RSA_2048_BYTES:
                raise CardDataError("The card's RSA signature has the wrong length.")
        else:
            tlv.single(signature, 0x30)  # a DER ECDSA-Sig-Value
        return signature
