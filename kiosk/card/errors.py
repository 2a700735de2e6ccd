"""Card errors: every failure of the card layer is a `CardError` with a message fit to show a user.

Parsers of card data raise exactly one type, `CardDataError` (SEC-13): the card is hostile input, and a
malformed answer must end the session cleanly, never crash or hang the kiosk.
"""

from __future__ import annotations


class CardError(Exception):
    """Base of every card-layer failure; `message` is user-facing (English source, translated by the UI)."""

    default_message = "The card could not be used."

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)


class CardDataError(CardError):
    """The card returned malformed or out-of-bounds data (the ONE exception the parsers raise)."""

    default_message = "The card returned data that could not be read."


class WrongPin(CardError):
    """The PIN was wrong; `tries_left` attempts remain before the card blocks it (SEC-03)."""

    def __init__(self, tries_left: int, message: str | None = None) -> None:
        self.tries_left = tries_left
        super().__init__(message or f"Wrong PIN. {tries_left} tries left.")


class PinBlocked(CardError):
    """The PIN is blocked on the card; only its issuer can unblock it (SEC-03)."""

    default_message = "The PIN is blocked. Contact the card's issuer."


class PinRequired(CardError):
    """The card refused an operation because the PIN has not been verified in this session."""

    default_message = "The PIN must be entered first."


class InvalidPinFormat(CardError):
    """The PIN is not 6 to 8 digits; it was not sent to the card, so no try was used."""

    default_message = "The PIN must be 6 to 8 digits."


class NotPivCard(CardError):
    """The card has no PIV application (or not the one we need)."""

    default_message = "This card cannot be used here."


class UnsupportedCard(CardError):
    """The card is a PIV card, but uses a feature this kiosk does not support (e.g. a compressed certificate)."""

    default_message = "This card uses a feature the kiosk does not support."


class CardRemoved(CardError):
    """The card was removed (or powered off) while it was in use."""

    default_message = "The card was removed."
