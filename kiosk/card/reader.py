"""The card reader as the card service sees it: a port with a PC/SC adapter and an in-memory fake.

`ReaderPort.wait` blocks until something changes (or a timeout) and says what the reader holds now: no PC/SC
service, no reader, an empty reader, or a card — with an insertion number that grows with every new card, so a
card pulled and put back between two looks is still a new card. `ReaderPort.connect` opens the card for one
session; `CardConnection.close` resets it, which clears its PIN state (a PIV card forgets a verified PIN on
reset).
"""

from __future__ import annotations

import enum
import threading
from dataclasses import dataclass
from typing import Protocol

from kiosk.card.apdu import Transmit
from kiosk.card.errors import CardRemoved
from kiosk.card.model import PivCardModel


class ReaderStatus(enum.StrEnum):
    """What the reader holds."""

    NO_SERVICE = "no-service"  # pcscd is not running (or restarting)
    NO_READER = "no-reader"  # the configured reader is not plugged in
    EMPTY = "empty"
    PRESENT = "present"


@dataclass(frozen=True)
class ReaderSnapshot:
    """The reader at one moment; ``insertion`` identifies the card while it stays in (0: none seen yet)."""

    status: ReaderStatus
    insertion: int = 0
    reader: str | None = None


class CardConnection(Protocol):
    """An open card: APDUs in, responses out; `CardRemoved` when it is gone."""

    def transmit(self, apdu: bytearray) -> bytes:
        """Send one APDU, return data + SW1 SW2."""
        ...

    def close(self) -> None:
        """Reset the card (clearing its PIN state) and release it; never raises."""
        ...


class ReaderPort(Protocol):
    """A card reader the card service watches and opens."""

    def wait(self, timeout: float) -> ReaderSnapshot:
        """Block until the reader changes or ``timeout`` seconds pass; what it holds now."""
        ...

    def connect(self) -> CardConnection:
        """Open the card in the reader; `CardRemoved` when there is none."""
        ...

    def rescan(self) -> None:
        """Forget what the reader held, so a card still in it is a new insertion at the next `wait` (after the
        session's card vanished under it: pulled and put back faster than the reader reported)."""
        ...

    def cancel(self) -> None:
        """Wake a `wait` in another thread (for shutdown)."""
        ...

    def close(self) -> None:
        """Release whatever the port holds."""
        ...


class _ModelConnection:
    def __init__(self, model: PivCardModel, slot: ModelReader, insertion: int) -> None:
        self._model, self._slot, self._insertion = model, slot, insertion

    def transmit(self, apdu: bytearray) -> bytes:
        if self._slot.snapshot().insertion != self._insertion:
            raise CardRemoved()
        response = self._model.transmit(apdu)
        self._slot.after_apdu()
        return response

    def close(self) -> None:
        self._model.reset()


class ModelReader:
    """A reader holding a `PivCardModel` in memory: the unit tests' and the browserless UI tests' reader.

    ``pull_after`` pulls the card right after that many APDUs in the session (SEC-10 tests).
    """

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._model: PivCardModel | None = None
        self._insertion = 0
        self._changed = False
        self.present = True  # False: the reader itself is unplugged
        self.pull_after: int | None = None
        self.apdus = 0

    def snapshot(self) -> ReaderSnapshot:
        """What the reader holds now, without waiting."""
        with self._condition:
            if not self.present:
                return ReaderSnapshot(ReaderStatus.NO_READER)
            if self._model is None:
                return ReaderSnapshot(ReaderStatus.EMPTY, reader="model")
            return ReaderSnapshot(ReaderStatus.PRESENT, self._insertion, "model")

    def insert(self, model: PivCardModel) -> None:
        """Put a card in (a fresh power-on)."""
        with self._condition:
            model.insert()
            self._model, self._insertion, self._changed = model, self._insertion + 1, True
            self.apdus = 0
            self._condition.notify_all()

    def remove(self) -> None:
        """Pull the card out."""
        with self._condition:
            if self._model is not None:
                self._model.remove()
            self._model, self._changed = None, True
            self._condition.notify_all()

    def unplug(self) -> None:
        """Unplug the reader itself (with any card in it)."""
        self.remove()
        with self._condition:
            self.present, self._changed = False, True
            self._condition.notify_all()

    def after_apdu(self) -> None:
        """Count an APDU, and pull the card if the test asked for it here."""
        self.apdus += 1
        if self.pull_after is not None and self.apdus >= self.pull_after:
            self.pull_after = None
            self.remove()

    def wait(self, timeout: float) -> ReaderSnapshot:
        with self._condition:
            if not self._changed:
                self._condition.wait(timeout)
            self._changed = False
        return self.snapshot()

    def connect(self) -> CardConnection:
        with self._condition:
            if self._model is None or not self.present:
                raise CardRemoved()
            return _ModelConnection(self._model, self, self._insertion)

    def rescan(self) -> None:
        with self._condition:
            if self._model is not None:
                self._insertion += 1
            self._changed = True
            self._condition.notify_all()

    def cancel(self) -> None:
        with self._condition:
            self._changed = True
            self._condition.notify_all()

    def close(self) -> None:
        self.cancel()


def transmit_of(connection: CardConnection) -> Transmit:
    """The `transmit` callable the PIV layer takes."""
    return connection.transmit
