"""A pure-Python PIV card that answers APDUs: the unit tests' card, and the one the vpcd emulator will wrap.

It holds one authentication key (P-256 or RSA-2048) with its certificate in slot 9A, a PIN with a retry
counter, signs only after a successful VERIFY in the same session, and returns long answers in 256-byte chunks
with 61xx (and 6Cxx for a too-short Le) so that the reader side's chaining is exercised.
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from kiosk.card import tlv
from kiosk.card.errors import CardDataError, CardRemoved
from kiosk.card.interface import SignAlgorithm
from kiosk.card.piv import OBJECT_AUTH_CERT, PIN_LENGTH, PIV_AID
from protocol.testcard import CardFile

SW_OK = b"\x90\x00"
SW_WRONG_LENGTH = b"\x67\x00"
SW_SECURITY_STATUS = b"\x69\x82"
SW_PIN_BLOCKED = b"\x69\x83"
SW_CONDITIONS = b"\x69\x85"
SW_WRONG_DATA = b"\x6a\x80"
SW_NOT_FOUND = b"\x6a\x82"
SW_WRONG_P1P2 = b"\x6a\x86"
SW_REF_NOT_FOUND = b"\x6a\x88"
SW_INS_UNSUPPORTED = b"\x6d\x00"
SW_CLA_UNSUPPORTED = b"\x6e\x00"
CHUNK = 256


def _parse_apdu(apdu: bytes) -> tuple[int, int, int, int, bytes, int | None] | None:
    """Short APDU cases 1–4 -> (cla, ins, p1, p2, data, le); None when malformed (extended APDUs too)."""
    if len(apdu) < 4:
        return None
    cla, ins, p1, p2 = apdu[:4]
    body = apdu[4:]
    if not body:
        return cla, ins, p1, p2, b"", None
    if len(body) == 1:
        return cla, ins, p1, p2, b"", body[0] or 256
    lc = body[0]
    if lc == 0:
        return None
    data, rest = body[1 : 1 + lc], body[1 + lc :]
    if len(data) != lc or len(rest) > 1:
        return None
    return cla, ins, p1, p2, bytes(data), (rest[0] or 256) if rest else None


class PivCardModel:
    """A PIV card in memory. `transmit(apdu) -> response`; `remove()` makes every later APDU raise CardRemoved."""

    def __init__(
        self,
        key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey,
        certificate_der: bytes,
        pin: str = "123456",
        max_tries: int = 3,
        *,
        compressed: bool = False,
        has_piv: bool = True,
        signing_key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | None = None,
        replay_signatures: bool = False,
    ) -> None:
        if isinstance(key, ec.EllipticCurvePrivateKey):
            if not isinstance(key.curve, ec.SECP256R1):
                raise ValueError("the model supports P-256 only")
            self.algorithm = SignAlgorithm.ECC_P256
        elif key.key_size == 2048:
            self.algorithm = SignAlgorithm.RSA_2048
        else:
            raise ValueError("the model supports RSA-2048 only")
        self._key = key
        self._certificate = certificate_der
        self._pin = pin.encode("ascii").ljust(PIN_LENGTH, b"\xff")
        self.max_tries = max_tries
        self.tries_left = max_tries
        self.compressed = compressed
        # Misbehaviours for the tests and the demo: a card without the PIV application ("not an e-ID"), one
        # that signs with a key other than its certificate's, one that answers every challenge with the first
        # signature it ever made (a replay).
        self.has_piv = has_piv
        self._signing_key = signing_key or key
        self.replay_signatures = replay_signatures
        self._first_signature: bytes | None = None
        self.removed = False
        self.apdu_count = 0
        self.reset()

    def reset(self) -> None:
        """Power-cycle: the PIV application is deselected, the PIN unverified, pending buffers dropped."""
        self.selected = False
        self.verified = False
        self._pending = b""
        self._chain: tuple[int, int, int, bytes] | None = None

    def remove(self) -> None:
        """Pull the card: every later APDU raises `CardRemoved` (until `insert()`)."""
        self.removed = True

    def insert(self) -> None:
        """Put the card back: a fresh session (power-on)."""
        self.removed = False
        self.reset()

    def transmit(self, apdu: bytes | bytearray) -> bytes:
        """Answer one command APDU with response data + SW1 SW2."""
        if self.removed:
            raise CardRemoved()
        self.apdu_count += 1
        parsed = _parse_apdu(bytes(apdu))
        if parsed is None:
            return SW_WRONG_LENGTH
        cla, ins, p1, p2, data, le = parsed
        if cla & ~0x10 != 0x00:
            return SW_CLA_UNSUPPORTED
        if ins == 0xC0:
            return self._get_response(le)
        self._pending = b""
        if cla & 0x10:
            if self._chain is not None and self._chain[:3] != (ins, p1, p2):
                self._chain = None
                return SW_CONDITIONS
            prefix = self._chain[3] if self._chain else b""
            self._chain = (ins, p1, p2, prefix + data)
            return SW_OK
        if self._chain is not None:
            chained, self._chain = self._chain, None
            if chained[:3] != (ins, p1, p2):
                return SW_CONDITIONS
            data = chained[3] + data
        return self._answer(self._dispatch(ins, p1, p2, data), le)

    def _answer(self, result: tuple[bytes, bytes], le: int | None) -> bytes:
        payload, sw = result
        if not payload:
            return sw
        if sw != SW_OK:
            return sw
        # Le shorter than the answer (OpenSC asks for 8 bytes first to learn an object's length): the first Le
        # bytes and 61xx for the rest, as ISO 7816-4 allows; GET RESPONSE fetches the remainder.
        self._pending = payload
        return self._get_response(le)

    def _get_response(self, le: int | None) -> bytes:
        if not self._pending:
            return SW_CONDITIONS
        size = min(le or CHUNK, CHUNK)
        chunk, self._pending = self._pending[:size], self._pending[size:]
        if self._pending:
            return chunk + bytes([0x61, min(len(self._pending), CHUNK) & 0xFF])
        return chunk + SW_OK

    def _dispatch(self, ins: int, p1: int, p2: int, data: bytes) -> tuple[bytes, bytes]:
        if ins == 0xA4:
            return self._select(p1, p2, data)
        if not self.selected:
            return b"", SW_INS_UNSUPPORTED
        if ins == 0xCB:
            return self._get_data(p1, p2, data)
        if ins == 0x20:
            return self._verify(p1, p2, data)
        if ins == 0x87:
            return self._general_authenticate(p1, p2, data)
        return b"", SW_INS_UNSUPPORTED

    def _select(self, p1: int, p2: int, data: bytes) -> tuple[bytes, bytes]:
        if p1 != 0x04 or p2 != 0x00:
            return b"", SW_WRONG_P1P2
        if len(data) < 5 or not PIV_AID.startswith(data) or not self.has_piv:
            self.selected = False
            return b"", SW_NOT_FOUND
        self.selected = True
        algorithms = tlv.encode(0x80, bytes([self.algorithm])) + tlv.encode(0x06, b"\x00")
        template = (
            tlv.encode(0x4F, PIV_AID[5:])
            + tlv.encode(0x79, tlv.encode(0x4F, PIV_AID[:5]))
            + tlv.encode(0xAC, algorithms)
        )
        return tlv.encode(0x61, template), SW_OK

    def _get_data(self, p1: int, p2: int, data: bytes) -> tuple[bytes, bytes]:
        if (p1, p2) != (0x3F, 0xFF):
            return b"", SW_WRONG_P1P2
        if data != tlv.encode(0x5C, OBJECT_AUTH_CERT):
            return b"", SW_NOT_FOUND
        info = b"\x01" if self.compressed else b"\x00"
        body = tlv.encode(0x70, self._certificate) + tlv.encode(0x71, info) + tlv.encode(0xFE, b"")
        return tlv.encode(0x53, body), SW_OK

    def _verify(self, p1: int, p2: int, data: bytes) -> tuple[bytes, bytes]:
        if p2 != 0x80:
            return b"", SW_REF_NOT_FOUND
        if p1 == 0xFF and not data:
            self.verified = False
            return b"", SW_OK
        if p1 != 0x00:
            return b"", SW_WRONG_P1P2
        if self.tries_left == 0:
            return b"", SW_PIN_BLOCKED
        if not data:
            return b"", SW_OK if self.verified else bytes([0x63, 0xC0 | self.tries_left])
        if len(data) != PIN_LENGTH:
            return b"", SW_WRONG_DATA
        if data == self._pin:
            self.tries_left = self.max_tries
            self.verified = True
            return b"", SW_OK
        self.tries_left -= 1
        self.verified = False
        return b"", bytes([0x63, 0xC0 | self.tries_left])

    def _general_authenticate(self, p1: int, p2: int, data: bytes) -> tuple[bytes, bytes]:
        if p2 != 0x9A:
            return b"", SW_REF_NOT_FOUND
        if p1 != self.algorithm:
            return b"", SW_WRONG_P1P2
        if not self.verified:
            return b"", SW_SECURITY_STATUS
        try:
            items = tlv.parse(tlv.single(data, 0x7C))
            tlv.find(items, 0x82)
            challenge = tlv.find(items, 0x81)
        except CardDataError:
            return b"", SW_WRONG_DATA
        signature = self._sign(challenge)
        if signature is None:
            return b"", SW_WRONG_DATA
        return tlv.encode(0x7C, tlv.encode(0x82, signature)), SW_OK

    def _sign(self, challenge: bytes) -> bytes | None:
        signature = self._raw_sign(challenge)
        if signature is not None and self.replay_signatures:
            self._first_signature = self._first_signature or signature
            return self._first_signature
        return signature

    def _raw_sign(self, challenge: bytes) -> bytes | None:
        key = self._signing_key
        if isinstance(key, ec.EllipticCurvePrivateKey):
            if len(challenge) != 32:
                return None
            return key.sign(challenge, ec.ECDSA(Prehashed(hashes.SHA256())))
        numbers = key.private_numbers()
        modulus = numbers.public_numbers.n
        message = int.from_bytes(challenge, "big")
        if len(challenge) != 256 or message >= modulus:
            return None
        return pow(message, numbers.d, modulus).to_bytes(256, "big")


def model_from_file(card: CardFile, **options: Any) -> PivCardModel:
    """A card model holding a test card file's key, certificate, PIN and tries left."""
    model = PivCardModel(card.private_key(), card.certificate_der(), pin=card.pin, **options)
    model.tries_left = card.pin_tries
    return model
