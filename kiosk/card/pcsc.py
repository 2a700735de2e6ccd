"""The real card reader: PC/SC through pyscard's low-level `smartcard.scard` module.

Why not pyscard's `CardMonitor`: it is a process-wide singleton whose thread stops silently when pcscd
restarts or the reader is unplugged (DESIGN.md pitfalls). `PcscReader.wait` calls `SCardGetStatusChange`
itself, with a timeout, and treats every failure as a state: "no service" (it re-establishes the context with
back-off until pcscd is back), "no reader" (it waits for a reader to appear), "empty" or "present".

pyscard is imported when a `PcscReader` is made, never at import time; the client library finds pcscd at
``PCSCLITE_CSOCK_NAME`` if that is set (the demo's and the tests' private pcscd), else the system's.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from kiosk.card.errors import CardError, CardRemoved
from kiosk.card.reader import CardConnection, ReaderSnapshot, ReaderStatus

log = logging.getLogger(__name__)

PNP_NOTIFICATION = "\\\\?PnP?\\Notification"
RETRY_MIN_SECONDS = 0.25  # first wait after pcscd went away ...
RETRY_MAX_SECONDS = 5.0  # ... doubling up to this, so a kiosk without pcscd does not spin


class ReaderGone(CardRemoved):
    """The reader (or pcscd) went away while the card was in use."""

    default_message = "The card reader is not available."


def _scard() -> Any:
    from smartcard import scard  # imported on first use: pyscard loads libpcsclite

    return scard


class _PcscConnection:
    def __init__(self, scard: Any, hcard: int, protocol: int) -> None:
        self._scard, self._hcard, self._protocol = scard, hcard, protocol
        self._lost = {
            scard.SCARD_W_REMOVED_CARD,
            scard.SCARD_E_NO_SMARTCARD,
            scard.SCARD_W_RESET_CARD,
            scard.SCARD_W_UNPOWERED_CARD,
            scard.SCARD_E_INVALID_HANDLE,
            scard.SCARD_E_PROTO_MISMATCH,  # pcscd powered the card up anew under us: it was swapped
            scard.SCARD_E_NOT_TRANSACTED,  # the exchange broke off: a card pulled mid-APDU looks like this
        }
        self._gone = {
            scard.SCARD_E_NO_SERVICE,
            scard.SCARD_E_SERVICE_STOPPED,
            scard.SCARD_E_READER_UNAVAILABLE,
            scard.SCARD_E_UNKNOWN_READER,
        }

    def transmit(self, apdu: bytearray) -> bytes:
        hresult, response = self._scard.SCardTransmit(self._hcard, self._protocol, list(apdu))
        if hresult == self._scard.SCARD_S_SUCCESS:
            return bytes(response)
        if hresult in self._lost:
            raise CardRemoved()
        if hresult in self._gone:
            raise ReaderGone()
        raise CardError(f"The card reader failed ({self._scard.SCardGetErrorMessage(hresult)}).")

    def close(self) -> None:
        # Reset, not just release: a PIV card forgets a verified PIN on reset, so the next visitor starts clean.
        self._scard.SCardDisconnect(self._hcard, self._scard.SCARD_RESET_CARD)


class PcscReader:
    """`ReaderPort` over pcscd. ``reader_name``: the reader to use (exact name, or a prefix); None: the first."""

    def __init__(self, reader_name: str | None = None) -> None:
        self._scard = _scard()
        self._wanted = reader_name
        self._context: int | None = None
        self._reader: str | None = None
        self._state = 0
        self._present = False
        self._insertion = 0
        self._retry = RETRY_MIN_SECONDS
        self._lock = threading.Lock()
        self._cancelled = threading.Event()

    def _establish(self) -> int | None:
        scard = self._scard
        with self._lock:
            if self._context is None:
                hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
                if hresult != scard.SCARD_S_SUCCESS:
                    return None
                self._context = context
                log.info("connected to the PC/SC service")
            return self._context

    def _drop_context(self) -> None:
        with self._lock:
            if self._context is not None:
                self._scard.SCardReleaseContext(self._context)
                self._context = None
        self._reader, self._state, self._present = None, 0, False

    def _pause(self, timeout: float) -> None:
        self._cancelled.wait(min(timeout, self._retry))
        self._retry = min(self._retry * 2, RETRY_MAX_SECONDS)

    def _pick_reader(self, context: int) -> str | None:
        hresult, readers = self._scard.SCardListReaders(context, [])
        if hresult != self._scard.SCARD_S_SUCCESS or not readers:
            return None
        if self._wanted is None:
            return str(readers[0])
        return next((str(r) for r in readers if r == self._wanted or str(r).startswith(self._wanted)), None)

    def _service_lost(self, hresult: int) -> bool:
        scard = self._scard
        return hresult in (scard.SCARD_E_NO_SERVICE, scard.SCARD_E_SERVICE_STOPPED, scard.SCARD_E_INVALID_HANDLE)

    def wait(self, timeout: float) -> ReaderSnapshot:
        scard = self._scard
        context = self._establish()
        if context is None:
            self._pause(timeout)
            return ReaderSnapshot(ReaderStatus.NO_SERVICE)
        if self._reader is None:
            self._reader = self._pick_reader(context)
            self._state, self._present = scard.SCARD_STATE_UNAWARE, False
        if self._reader is None:
            # Wait for a reader to be plugged in (the PnP pseudo-reader changes state when one is).
            hresult, _ = scard.SCardGetStatusChange(context, int(timeout * 1000), [(PNP_NOTIFICATION, 0)])
            if self._service_lost(hresult):
                self._drop_context()
                return ReaderSnapshot(ReaderStatus.NO_SERVICE)
            return ReaderSnapshot(ReaderStatus.NO_READER)
        hresult, states = scard.SCardGetStatusChange(context, int(timeout * 1000), [(self._reader, self._state)])
        if self._service_lost(hresult):
            log.warning("the PC/SC service went away; reconnecting")
            self._drop_context()
            return ReaderSnapshot(ReaderStatus.NO_SERVICE)
        if hresult in (scard.SCARD_E_UNKNOWN_READER, scard.SCARD_E_READER_UNAVAILABLE):
            log.warning("the card reader went away", extra={"reader": self._reader})
            self._reader = None
            return ReaderSnapshot(ReaderStatus.NO_READER)
        if hresult == scard.SCARD_S_SUCCESS:
            self._retry = RETRY_MIN_SECONDS
            _, event_state, _atr = states[0]
            self._note(int(event_state))
        return self._snapshot()

    def _note(self, event_state: int) -> None:
        scard = self._scard
        if event_state & (scard.SCARD_STATE_UNKNOWN | scard.SCARD_STATE_UNAVAILABLE):
            self._reader = None
            return
        # A new insertion is a change from "no card" to "card". pcsc-lite's event counter (the upper 16 bits)
        # also moves when the card is powered up or reset by our own use of it, so it is not used; a card
        # swapped too fast to be seen makes the session's next APDU fail, and `rescan` counts it afresh.
        present = bool(event_state & scard.SCARD_STATE_PRESENT)
        if present and not self._present:
            self._insertion += 1
        self._present = present
        self._state = event_state & ~scard.SCARD_STATE_CHANGED

    def rescan(self) -> None:
        """Forget what the reader held: a card still in it counts as a new insertion at the next `wait`."""
        self._state, self._present = self._scard.SCARD_STATE_UNAWARE, False

    def _snapshot(self) -> ReaderSnapshot:
        if self._reader is None:
            return ReaderSnapshot(ReaderStatus.NO_READER)
        if self._state & self._scard.SCARD_STATE_PRESENT:
            return ReaderSnapshot(ReaderStatus.PRESENT, self._insertion, self._reader)
        return ReaderSnapshot(ReaderStatus.EMPTY, reader=self._reader)

    def connect(self) -> CardConnection:
        scard = self._scard
        context, reader = self._establish(), self._reader
        if context is None or reader is None:
            raise ReaderGone()
        protocols = scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1
        # Exclusive: nothing else on the kiosk may talk to the card while a person uses it.
        for _ in range(20):
            hresult, hcard, protocol = scard.SCardConnect(context, reader, scard.SCARD_SHARE_EXCLUSIVE, protocols)
            if hresult != scard.SCARD_E_SHARING_VIOLATION:
                break
            time.sleep(0.05)
        if hresult == scard.SCARD_S_SUCCESS:
            return _PcscConnection(scard, hcard, protocol)
        if hresult in (scard.SCARD_E_NO_SMARTCARD, scard.SCARD_W_REMOVED_CARD, scard.SCARD_W_UNRESPONSIVE_CARD):
            raise CardRemoved()
        if self._service_lost(hresult) or hresult in (scard.SCARD_E_UNKNOWN_READER, scard.SCARD_E_READER_UNAVAILABLE):
            raise ReaderGone()
        raise CardError(f"The card could not be opened ({scard.SCardGetErrorMessage(hresult)}).")

    def cancel(self) -> None:
        self._cancelled.set()
        with self._lock:
            if self._context is not None:
                self._scard.SCardCancel(self._context)

    def close(self) -> None:
        self.cancel()
        self._drop_context()
