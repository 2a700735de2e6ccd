"""The card layer: one small `Card` interface, a PIV implementation over APDUs, and a pure-Python PIV card model.

Nothing here imports pyscard; a reader is reached through a `transmit(bytes) -> bytes` callable, so a PC/SC
transport, the vpcd emulator and the unit tests all share the same protocol code. Only `CardError`s escape.
"""

from kiosk.card.errors import (
    CardDataError,
    CardError,
    CardRemoved,
    InvalidPinFormat,
    NotPivCard,
    PinBlocked,
    PinRequired,
    UnsupportedCard,
    WrongPin,
)
from kiosk.card.interface import Card, SignAlgorithm

__all__ = [
    "Card",
    "CardDataError",
    "CardError",
    "CardRemoved",
    "InvalidPinFormat",
    "NotPivCard",
    "PinBlocked",
    "PinRequired",
    "SignAlgorithm",
    "UnsupportedCard",
    "WrongPin",
]
