"""Logs: JSON lines with no personnummer in them, whatever a caller passes (SEC-14)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from protocol.logs import configure_logging, luhn_ok, redact

# Luhn-valid test numbers (no real people): 1990-01-01 with check digit 9, and a samordningsnummer (day + 60).
PNR_10 = "9001011239"
SAMORDNING_10 = "9001611236"


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    """Route the root logger through `configure_logging` into a buffer; restore the root logger afterwards."""
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    stream = io.StringIO()
    configure_logging("debug", stream=stream)
    yield stream
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in saved_handlers:
        root.addHandler(handler)
    root.setLevel(saved_level)


def test_the_test_numbers_are_luhn_valid_and_a_neighbour_is_not() -> None:
    assert luhn_ok(PNR_10) and luhn_ok(SAMORDNING_10)
    assert not luhn_ok("9001011238")


@pytest.mark.parametrize(
    "shown",
    [
        "9001011239",
        "900101-1239",
        "900101+1239",
        "199001011239",
        "19900101-1239",
        "9001611236",
        "19900161-1236",
    ],
)
def test_redact_masks_a_personnummer_in_every_written_form(shown: str) -> None:
    """SEC-14: 10 and 12 digits, with and without separator, samordningsnummer too."""
    assert redact(f"voter {shown} signed") == "voter [personnummer] signed"
    assert redact(shown) == "[personnummer]"


@pytest.mark.parametrize(
    "text",
    [
        "9001011238",  # Luhn check fails
        "900101-1238",
        "20260101",  # a date
        "KS 2026/123",  # a case number
        "070-1234567",  # a phone number
        "19900101123",  # 11 digits
        "1199001011239",  # 13 digits
        "msg 42 of 100, port 8883",
    ],
)
def test_redact_leaves_other_digit_runs_alone(text: str) -> None:
    assert redact(text) == text


def test_a_personnummer_never_reaches_a_log_line(log_stream: io.StringIO) -> None:
    """SEC-14: not in the message, its arguments, string extras or a traceback."""
    log = logging.getLogger("tinget.test")
    log.info("voter %s identified", "19900101-1239", extra={"who": "900101-1239", "device": "ange"})
    log.warning(f"card for {PNR_10} refused")
    try:
        raise ValueError(f"bad certificate serialNumber 19{PNR_10}")
    except ValueError:
        log.exception("validation failed")
    lines = [json.loads(line) for line in log_stream.getvalue().splitlines()]
    assert [line["event"] for line in lines] == [
        "voter [personnummer] identified",
        "card for [personnummer] refused",
        "validation failed",
    ]
    assert lines[0]["who"] == "[personnummer]" and lines[0]["device"] == "ange"
    assert "[personnummer]" in lines[2]["exc"]
    text = log_stream.getvalue()
    assert PNR_10 not in text and "1239" not in text


def test_a_personnummer_in_a_non_text_extra_never_reaches_a_log_line(log_stream: io.StringIO) -> None:
    """SEC-14: an int or a dict passed in ``extra=`` is written too, so it must be redacted as well."""
    logging.getLogger("tinget.test").info(
        "lookup", extra={"number": int("19" + PNR_10), "fields": {"pnr": "19900101-1239"}}
    )
    assert "1239" not in log_stream.getvalue()


def test_log_lines_are_json_with_time_level_logger_and_extras(log_stream: io.StringIO) -> None:
    logging.getLogger("tinget.test").debug("heartbeat sent", extra={"device": "ange", "depth": 3})
    (line,) = [json.loads(x) for x in log_stream.getvalue().splitlines()]
    assert line["level"] == "debug" and line["logger"] == "tinget.test" and line["event"] == "heartbeat sent"
    assert line["device"] == "ange" and line["depth"] == 3 and line["ts"].endswith("Z")


def test_an_hsa_style_staff_id_is_not_mistaken_for_a_personnummer() -> None:
    """Staff ids (HSA-style, an organisation number inside) stay readable in logs; only real dates are masked."""
    from protocol.logs import redact

    assert redact("staff SE2321000016-1003 checked in") == "staff SE2321000016-1003 checked in"
