"""ISO 7816-4 APDUs: short command encoding with command chaining, response parsing, and `transceive`.

`transceive` does the response chaining pyscard leaves to its caller: 61xx (fetch the rest with GET RESPONSE,
bounded in rounds and total size) and 6Cxx (resend with the exact Le the card asked for). Every response is
hostile input (SEC-13): malformed or endless answers end in `CardDataError`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from kiosk.card.errors import CardDataError

Transmit = Callable[[bytearray], bytes]
"""Send one APDU, return the raw response (data + SW1 SW2). Raises `CardRemoved` when the card is gone.

The APDU is a bytearray that is wiped once `transmit` returns (it may hold a PIN): copy nothing you keep."""

MAX_RESPONSE = 65_536
"""Largest response `transceive` accepts, chaining included (a PIV certificate object is well below this)."""

MAX_ROUNDS = 300
MAX_CHUNK = 255
INS_GET_RESPONSE = 0xC0
CLA_CHAINING = 0x10
SW_OK = 0x9000


@dataclass(frozen=True)
class Command:
    """A short command APDU. `le` is None (no response data expected) or 1–256 (256 is encoded as 00)."""

    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes | bytearray = b""
    le: int | None = None

    def __post_init__(self) -> None:
        for name in ("cla", "ins", "p1", "p2"):
            if not 0 <= getattr(self, name) <= 0xFF:
                raise ValueError(f"{name} must be one byte")
        if self.le is not None and not 1 <= self.le <= 256:
            raise ValueError("le must be 1–256 in a short APDU")

    def encode(self) -> bytearray:
        """The APDU bytes (a bytearray the caller may wipe). Data over 255 bytes needs `chained()`."""
        if len(self.data) > MAX_CHUNK:
            raise ValueError("data longer than 255 bytes needs command chaining")
        apdu = bytearray((self.cla, self.ins, self.p1, self.p2))
        if self.data:
            apdu.append(len(self.data))
            apdu += self.data
        if self.le is not None:
            apdu.append(self.le & 0xFF)
        return apdu

    def chained(self) -> list[Command]:
        """Split into short commands: all but the last with CLA | 0x10 and no Le (ISO 7816-4 5.3.3)."""
        data = self.data
        if len(data) <= MAX_CHUNK:
            return [self]
        parts: list[Command] = []
        for start in range(0, len(data), MAX_CHUNK):
            chunk = data[start : start + MAX_CHUNK]
            last = start + MAX_CHUNK >= len(data)
            cla = self.cla if last else self.cla | CLA_CHAINING
            parts.append(Command(cla, self.ins, self.p1, self.p2, chunk, self.le if last else None))
        return parts

    def with_le(self, le: int) -> Command:
        """The same command with another Le."""
        return Command(self.cla, self.ins, self.p1, self.p2, self.data, le)


@dataclass(frozen=True)
class Response:
    """A response APDU: `data` and the status word `sw` (SW1 << 8 | SW2)."""

    data: bytes
    sw: int

    @classmethod
    def parse(cls, raw: bytes, *, max_size: int = MAX_RESPONSE) -> Response:
        """Split raw response bytes; `CardDataError` when shorter than the status word or too large."""
        if not isinstance(raw, bytes | bytearray):
            raise CardDataError("The card's answer is not bytes.")
        if len(raw) < 2:
            raise CardDataError("The card's answer has no status word.")
        if len(raw) > max_size + 2:
            raise CardDataError("The card's answer is too large.")
        return cls(bytes(raw[:-2]), (raw[-2] << 8) | raw[-1])

    @property
    def sw1(self) -> int:
        """First status byte."""
        return self.sw >> 8

    @property
    def sw2(self) -> int:
        """Second status byte."""
        return self.sw & 0xFF

    @property
    def ok(self) -> bool:
        """True for 9000."""
        return self.sw == SW_OK


def _send(transmit: Transmit, command: Command) -> Response:
    apdu = command.encode()
    try:
        return Response.parse(transmit(apdu))
    finally:
        apdu[:] = bytes(len(apdu))  # the APDU may hold a PIN (SEC-03)


def transceive(transmit: Transmit, command: Command, *, max_size: int = MAX_RESPONSE) -> Response:
    """Send `command` (chained when its data is over 255 bytes) and collect the whole response.

    Handles 61xx by GET RESPONSE until the card says it is done and 6Cxx by resending with the exact Le. The
    number of rounds and the total size are bounded; a card that breaks the bounds raises `CardDataError`.
    A non-9000 answer to an intermediate chained command is returned as is.
    """
    *head, last = command.chained()
    for part in head:
        response = _send(transmit, part)
        if not response.ok:
            return response
    current = last
    response = _send(transmit, current)
    collected = bytearray()
    for _ in range(MAX_ROUNDS):
        if response.sw1 == 0x6C:
            current = current.with_le(response.sw2 or 256)
            response = _send(transmit, current)
            continue
        collected += response.data
        if len(collected) > max_size:
            raise CardDataError("The card's answer is too large.")
        if response.sw1 != 0x61:
            return Response(bytes(collected), response.sw)
        current = Command(command.cla & ~CLA_CHAINING & 0xFF, INS_GET_RESPONSE, 0, 0, le=response.sw2 or 256)
        response = _send(transmit, current)
    raise CardDataError("The card's answer never ended.")
