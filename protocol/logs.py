"""Structured logs, one JSON object per line, with no personal data.

Callers never put a personnummer, PIN or secret in a log call; `RedactingFilter` is the second line of defence
and replaces anything that looks like a personnummer (10 or 12 digits with a valid Luhn check digit).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from typing import Any

from protocol.identity import luhn_check_digit

_PNR = re.compile(r"(?<!\d)(\d{2})?(\d{6})[-+]?(\d{4})(?!\d)")
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def luhn_ok(digits: str) -> bool:
    """The Luhn check used by Swedish personnummer (over the 10-digit form)."""
    return len(digits) == 10 and luhn_check_digit(digits[:9]) == int(digits[9])


def _looks_like_personnummer(yymmdd: str, last4: str) -> bool:
    month, day = int(yymmdd[2:4]), int(yymmdd[4:6])
    # A samordningsnummer adds 60 to the day; other digit runs (HSA ids, organisation numbers) rarely pass this.
    day_ok = 1 <= day <= 31 or 61 <= day <= 91
    return 1 <= month <= 12 and day_ok and luhn_ok(yymmdd + last4)


def redact(text: str) -> str:
    """Replace every personnummer-shaped digit run (valid date, valid Luhn digit) with ``[personnummer]``."""

    def _sub(m: re.Match[str]) -> str:
        return "[personnummer]" if _looks_like_personnummer(m.group(2), m.group(3)) else m.group(0)

    return _PNR.sub(_sub, text)


def _redact_value(value: Any) -> Any:
    """Redact a log field of any type; a non-text value that held a personnummer comes back as redacted text."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, bool | float | type(None)):
        return value
    text = str(value) if isinstance(value, int) else json.dumps(value, ensure_ascii=False, default=str)
    cleaned = redact(text)
    return value if cleaned == text else cleaned


class RedactingFilter(logging.Filter):
    """Redacts personnummer-shaped values from the message and its arguments before any handler sees them."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(str(record.getMessage()))
        record.args = None
        for key, value in list(vars(record).items()):
            if key not in _STANDARD:
                setattr(record, key, _redact_value(value))
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, event and any ``extra=`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value if isinstance(value, str | int | float | bool | type(None)) else str(value)
        if record.exc_info:
            entry["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str = "info", *, stream: Any = None) -> None:
    """Send every log record of the process through the redacting filter to ``stream`` as JSON lines."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # "Context impl SQLiteImpl." on every command
