"""Personnummer: parse a resident's identity number, and keep its digits out of sight (SEC-14).

A personnummer is written ``YYYYMMDD-NNNN`` (or ``YYMMDD-NNNN``); the last digit is a Luhn check digit over the
10-digit form, and a samordningsnummer (coordination number) adds 60 to the day of birth. A ``+`` in place of
the ``-`` says that the person is 100 years or older, which is how the century of a two-digit year is resolved.

The digits are personal data. A `Personnummer` never shows them in ``repr``, ``str`` or an f-string, and
`InvalidPersonnummer` messages say what is wrong, never what was typed, so an accidental log line leaks
nothing. The one deliberate way out is `Personnummer.canonical`; what is stored or sent is `pseudonym`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import date

__all__ = ["InvalidPersonnummer", "Personnummer", "luhn_check_digit", "parse_personnummer", "pseudonym"]

# ASCII digits only: `\d` would also accept Arabic-Indic and other Unicode digits.
_WRITTEN = re.compile(r"(?P<century>[0-9]{2})?(?P<date>[0-9]{6})(?P<sep>[-+]?)(?P<serial>[0-9]{4})")
_DOMAIN = b"tinget/personnummer-pseudonym/v1"
_MIN_KEY_BYTES = 16
COORDINATION_DAY_OFFSET = 60


class InvalidPersonnummer(ValueError):
    """A personnummer that cannot be accepted; the message is user-facing and never contains the input."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason  # a stable code ("check_digit", "date", ...) for callers that translate messages


def luhn_check_digit(nine_digits: str) -> int:
    """The Luhn check digit for the first nine digits of the 10-digit form (weights 2, 1, 2, 1, ...)."""
    total = 0
    for i, ch in enumerate(nine_digits):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return (10 - total % 10) % 10


def _birth_date(year: int, month: int, day: int) -> date | None:
    """The real birth date (a samordningsnummer's day minus 60), or None when that date does not exist."""
    if day > COORDINATION_DAY_OFFSET:
        day -= COORDINATION_DAY_OFFSET
    try:
        return date(year, month, day)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True, repr=False)
class Personnummer:
    """A valid personnummer or samordningsnummer; construct it with `parse_personnummer`.

    It holds the canonical 12-digit form (``YYYYMMDDNNNN``) and shows only the birth year, whatever is done
    with it: ``repr``, ``str`` and ``format`` give ``Personnummer(born 1985, ****)``.
    """

    _digits: str

    def __post_init__(self) -> None:
        digits = self._digits
        if not (isinstance(digits, str) and len(digits) == 12 and digits.isascii() and digits.isdigit()):
            raise InvalidPersonnummer("form", "a canonical personnummer is twelve digits")
        if _birth_date(int(digits[:4]), int(digits[4:6]), int(digits[6:8])) is None:
            raise InvalidPersonnummer("date", "the date of birth in the personnummer does not exist")
        if luhn_check_digit(digits[2:11]) != int(digits[11]):
            raise InvalidPersonnummer("check_digit", "the check digit of the personnummer does not match")

    @property
    def birth_date(self) -> date:
        """The date of birth (for a samordningsnummer, with the 60 taken off the day)."""
        born = _birth_date(int(self._digits[:4]), int(self._digits[4:6]), int(self._digits[6:8]))
        assert born is not None  # checked in __post_init__
        return born

    @property
    def birth_year(self) -> int:
        """The year of birth: the most that may be shown on a screen."""
        return int(self._digits[:4])

    @property
    def is_coordination_number(self) -> bool:
        """True for a samordningsnummer (day of birth plus 60)."""
        return int(self._digits[6:8]) > COORDINATION_DAY_OFFSET

    def canonical(self) -> str:
        """The 12 digits ``YYYYMMDDNNNN``: the one deliberate way to the number itself.

        Only for computing a keyed hash or reading it back off an e-ID card in memory; never display, log,
        put in a URL, an MQTT payload or a kiosk database what this returns (SEC-14).
        """
        return self._digits

    def masked(self) -> str:
        """A display form that reveals the birth year and nothing more, e.g. ``1985****-****``."""
        return f"{self._digits[:4]}****-****"

    def age_on(self, day: date) -> int:
        """Age in whole years on ``day``."""
        born = self.birth_date
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))

    def __repr__(self) -> str:
        return f"Personnummer(born {self.birth_year}, ****)"

    def __str__(self) -> str:
        return self.__repr__()

    def __format__(self, spec: str) -> str:
        return format(self.__repr__(), spec)


def _resolve_century(yy: int, month: int, day: int, plus: bool, today: date) -> int:
    """The full year for a two-digit year: under 100 years old with ``-`` (or none), 100 or older with ``+``."""
    if day > COORDINATION_DAY_OFFSET:
        day -= COORDINATION_DAY_OFFSET
    year = today.year - (today.year - yy) % 100
    if (month, day) > (today.month, today.day) and year == today.year:
        year -= 100
    return year - 100 if plus else year


def parse_personnummer(text: str, *, today: date | None = None) -> Personnummer:
    """Parse a written personnummer or samordningsnummer.

    Accepts ``YYYYMMDD-NNNN``, ``YYYYMMDDNNNN``, ``YYMMDD-NNNN``, ``YYMMDDNNNN`` and ``YYMMDD+NNNN`` (100 or
    older), with surrounding whitespace. A two-digit year is resolved against ``today`` (default: the current
    date). Raises `InvalidPersonnummer` (a `ValueError`) whose message says what is wrong and never repeats
    any of the input.
    """
    if not isinstance(text, str):
        raise InvalidPersonnummer("type", "a personnummer must be given as text")
    today = today or date.today()
    written = text.strip()
    if not written:
        raise InvalidPersonnummer("empty", "no personnummer was given")
    match = _WRITTEN.fullmatch(written)
    if match is None:
        digits = sum(ch.isascii() and ch.isdigit() for ch in written)
        if digits not in (10, 12):
            raise InvalidPersonnummer("length", "a personnummer has ten or twelve digits")
        raise InvalidPersonnummer(
            "form", "a personnummer is written as digits with at most one '-' or '+' before the last four"
        )
    century, yymmdd, sep, serial = match.group("century", "date", "sep", "serial")
    yy, month, day = int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:6])
    if century is not None:
        if sep == "+":
            raise InvalidPersonnummer("form", "a '+' is only written with a two-digit year")
        year = int(century) * 100 + yy
    else:
        year = _resolve_century(yy, month, day, sep == "+", today)
    born = _birth_date(year, month, day) if year >= 1 else None
    if born is None:
        raise InvalidPersonnummer("date", "the date of birth in the personnummer does not exist")
    if born > today:
        raise InvalidPersonnummer("future", "the date of birth in the personnummer is in the future")
    if luhn_check_digit(yymmdd + serial[:3]) != int(serial[3]):
        raise InvalidPersonnummer("check_digit", "the check digit of the personnummer does not match")
    return Personnummer(f"{year:04d}{yymmdd[2:]}{serial}")


def pseudonym(key: bytes, pnr: Personnummer, context: str) -> str:
    """A keyed hash of ``pnr`` for ``context`` (e.g. a poll id): HMAC-SHA-256, hex.

    A plain hash is not enough: there are only about a billion valid personnummer (dates of the last
    hundred-odd years times a thousand serials), so anyone holding ``sha256(pnr)`` finds the number by trying
    them all in seconds. With a secret key the hash cannot be computed without it, and the ``context`` makes
    hashes from different polls unlinkable (SEC-14). The key must be at least 16 random bytes.
    """
    if len(key) < _MIN_KEY_BYTES:
        raise ValueError("the pseudonym key must be at least 16 bytes")
    if not context:
        raise ValueError("a pseudonym needs a context, such as a poll id")
    ctx = context.encode("utf-8")
    message = b"\x00".join([_DOMAIN, len(ctx).to_bytes(4, "big") + ctx, pnr.canonical().encode("ascii")])
    return hmac.new(key, message, hashlib.sha256).hexdigest()
