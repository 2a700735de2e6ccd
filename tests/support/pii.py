"""A personnummer scanner for tests: find any personnummer in logs, databases, payloads and pages (SEC-14).

`find_personnummer` looks for 10- and 12-digit runs, with or without a ``-``/``+`` before the last four,
whose date exists (a samordningsnummer's day minus 60) and whose Luhn check digit matches. It errs on the side
of reporting: any century from 1800 to 2099 will do. Hits come back masked (shape and offset, never the digits),
so that a failing assertion does not itself print a personnummer.

Bytes are read as Latin-1 (so a SQLite file or an MQTT payload scans byte for byte); hex digests (32, 40, 64 or
128 hex characters standing alone) are skipped, since a run of digits inside one is noise, not a number.
"""

from __future__ import annotations

import re
from datetime import date

from protocol.identity import luhn_check_digit

_CANDIDATE = re.compile(
    r"(?<![0-9])(?P<century>[0-9]{2})?(?P<date>[0-9]{6})(?P<sep>[-+]?)(?P<serial>[0-9]{4})(?![0-9])"
)
_HEX_TOKEN = re.compile(r"(?<![0-9A-Za-z])[0-9A-Fa-f]{32,128}(?![0-9A-Za-z])")
_DIGEST_LENGTHS = {32, 40, 64, 128}
# A long run of hex with letters in it is a hash, point or key glued to its neighbour in a database row
# ("…d628f" + "demo…"), or a piece of one that SQLite split across overflow pages: a ten-digit stretch inside it is
# not a number either. (A number glued to a name, "Anna" + number + "ange", makes a run of 14 and is still found.)
_GLUED_HEX = re.compile(r"[0-9A-Fa-f]{24,}")
# The fraction of a stored time of day: "03:15:35." then microseconds, which SQLite may store right before the
# next timestamp ("…35.960407" + "2026-12-01 …" reads as 960407-2026). Digits that follow it are not a number.
_TIME_FRACTION = re.compile(r"[0-9]{2}:[0-9]{2}:[0-9]{2}\.$")


def _date_exists(years: range, month: int, day: int) -> bool:
    if day > 60:
        day -= 60
    for year in years:
        try:
            date(year, month, day)
        except ValueError:
            continue
        return True
    return False


def _is_personnummer(century: str | None, yymmdd: str, serial: str) -> bool:
    yy, month, day = int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:6])
    if century is not None:
        if century not in ("18", "19", "20"):
            return False
        years = range(int(century) * 100 + yy, int(century) * 100 + yy + 1)
    else:
        years = range(1800 + yy, 2100, 100)  # any century: Feb 29 exists in some of them
    return _date_exists(years, month, day) and luhn_check_digit(yymmdd + serial[:3]) == int(serial[3])


def _blank_digests(text: str) -> str:
    def _blank(m: re.Match[str]) -> str:
        return " " * len(m.group(0)) if len(m.group(0)) in _DIGEST_LENGTHS else m.group(0)

    def _blank_glued(m: re.Match[str]) -> str:
        run = m.group(0)
        return " " * len(run) if any(ch.isalpha() for ch in run) else run

    return _GLUED_HEX.sub(_blank_glued, _HEX_TOKEN.sub(_blank, text))


def find_personnummer(data: bytes | str) -> list[str]:
    """Every personnummer-shaped hit in ``data``, masked: e.g. ``'********-**** at offset 17'``."""
    text = data if isinstance(data, str) else bytes(data).decode("latin-1")
    hits: list[str] = []
    for m in _CANDIDATE.finditer(_blank_digests(text)):
        if _TIME_FRACTION.search(text, max(0, m.start() - 9), m.start()):
            continue
        if _is_personnummer(m.group("century"), m.group("date"), m.group("serial")):
            shape = "*" * (8 if m.group("century") else 6) + m.group("sep") + "****"
            hits.append(f"{shape} at offset {m.start()}")
    return hits
