"""A virtual card in a virtual reader: the PIV card model served to vsmartcard's vpcd over TCP.

pcscd's vpcd driver listens on a TCP port per virtual reader and waits for a card to connect. The wire format:
each message is a 2-byte big-endian length and that many bytes; a 1-byte message from vpcd is a control code
(0 power off, 1 power on, 2 reset, 4 "send the ATR"), anything longer is a command APDU, answered with the
response APDU. Connecting inserts the card; closing the connection pulls it. pyscard, OpenSC and any other
PC/SC program then see a real reader with a card in it.

For tests and the demo only: vpcd listens on every interface and has no authentication, so it never belongs
on a kiosk image (DESIGN.md pitfalls).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import struct
import threading
import time

from kiosk.card.errors import CardError
from kiosk.card.model import PivCardModel

log = logging.getLogger(__name__)

# T=1, with historical bytes saying "PIV-compatible test card" in spirit; readers and OpenSC accept it as any ATR.
ATR = bytes.fromhex("3B8880010000000000000000")
CONTROL_POWER_OFF, CONTROL_POWER_ON, CONTROL_RESET, CONTROL_ATR = 0, 1, 2, 4
CONNECT_TIMEOUT_SECONDS = 10.0
# pcscd polls a virtual reader a few times a second: a card put in sooner than this after the last one came out
# of the same reader could be taken for the old one, reset. A hand needs that long anyway.
SWAP_SECONDS = 1.0
_pulled_at: dict[tuple[str, int], float] = {}  # (host, port) → when a card last came out of that reader
MAX_MESSAGE = 65_535


class VirtualCard:
    """One card that can be inserted into (and pulled from) the vpcd reader at ``host:port``."""

    def __init__(self, model: PivCardModel, port: int, host: str = "127.0.0.1", atr: bytes = ATR) -> None:
        self.model, self.host, self.port, self.atr = model, host, port, atr
        self._socket: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        # Tests: after this many APDUs in one insertion, the card is pulled (the connection closed) right after
        # answering, as a hand pulling the card mid-flow would (SEC-10). None: never.
        self.pull_after_apdus: int | None = None
        self.apdus = 0

    @property
    def inserted(self) -> bool:
        """True while the card is connected to the reader."""
        return self._thread is not None and self._thread.is_alive()

    def insert(self, timeout: float = CONNECT_TIMEOUT_SECONDS) -> None:
        """Connect to vpcd (the card goes in); retries while pcscd is still starting up."""
        with self._lock:
            if self.inserted:
                return
            since = time.monotonic() - _pulled_at.get((self.host, self.port), float("-inf"))
            if since < SWAP_SECONDS:
                time.sleep(SWAP_SECONDS - since)
            deadline = time.monotonic() + timeout
            while True:
                try:
                    sock = socket.create_connection((self.host, self.port), timeout=2)
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
            sock.settimeout(None)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.model.insert()
            self.apdus = 0
            self._socket = sock
            self._thread = threading.Thread(
                target=self._serve, args=(sock,), name=f"vpcd-card-{self.port}", daemon=True
            )
            self._thread.start()

    def remove(self) -> None:
        """Close the connection (the card comes out) and wait for the serving thread to end."""
        with self._lock:
            sock, thread = self._socket, self._thread
            self._socket, self._thread = None, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        if thread is not None:
            thread.join(timeout=5)
            _pulled_at[(self.host, self.port)] = time.monotonic()
        self.model.remove()

    def _serve(self, sock: socket.socket) -> None:
        try:
            while True:
                message = _receive(sock)
                if message is None:
                    return
                _send(sock, self._answer(message))
                if len(message) > 1:
                    self.apdus += 1
                    if self.pull_after_apdus is not None and self.apdus >= self.pull_after_apdus:
                        sock.shutdown(socket.SHUT_RDWR)  # pulled: vpcd sees the card gone
                        _pulled_at[(self.host, self.port)] = time.monotonic()
                        return
        except OSError:
            return  # pulled (our own shutdown) or pcscd went away: the card is out either way

    def _answer(self, message: bytes) -> bytes | None:
        if len(message) == 1:
            code = message[0]
            if code == CONTROL_ATR:
                return self.atr
            if code in (CONTROL_POWER_OFF, CONTROL_POWER_ON, CONTROL_RESET):
                self.model.reset()
            return None
        try:
            return self.model.transmit(message)
        except CardError:
            return b"\x6f\x00"  # no precise diagnosis: what a broken card says


def _receive(sock: socket.socket) -> bytes | None:
    header = _read_exactly(sock, 2)
    if header is None:
        return None
    (length,) = struct.unpack(">H", header)
    return _read_exactly(sock, length)


def _read_exactly(sock: socket.socket, size: int) -> bytes | None:
    data = bytearray()
    while len(data) < size:
        # vpcd writes the length and the APDU separately; ACK at once, or its Nagle waits for our delayed ACK
        # (some 40 ms per APDU). Linux forgets QUICKACK after a while, so it is set before every read.
        with contextlib.suppress(AttributeError, OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        chunk = sock.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return bytes(data)


def _send(sock: socket.socket, payload: bytes | None) -> None:
    if payload is None:
        return
    if len(payload) > MAX_MESSAGE:
        payload = b"\x6f\x00"
    sock.sendall(struct.pack(">H", len(payload)) + payload)
