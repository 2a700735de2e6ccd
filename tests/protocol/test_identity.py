"""Personnummer parsing, display and pseudonyms, and the test scanner that looks for leaks (SEC-14).

Every number here is generated (a chosen date, a serial, a computed check digit): none is a real person's.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.identity import InvalidPersonnummer, Personnummer, parse_personnummer, pseudonym
from tests.support.pii import find_personnummer

TODAY = date(2026, 11, 23)
KEY = b"k" * 32


def luhn_digit(nine: str) -> int:
    """An independent Luhn implementation, so the tests do not trust the code under test."""
    digits = [int(c) * (2 - i % 2) for i, c in enumerate(nine)]
    return -sum(d // 10 + d % 10 for d in digits) % 10


def make(born: date, serial: int = 123, *, coordination: bool = False) -> str:
    """A generated, valid 12-digit number for ``born`` (a samordningsnummer when ``coordination``)."""
    day = born.day + (60 if coordination else 0)
    nine = f"{born.year % 100:02d}{born.month:02d}{day:02d}{serial:03d}"
    return f"{born.year:04d}{nine[2:]}{luhn_digit(nine)}"


PNR = make(date(1990, 1, 1), 123)  # 199001011239
SHORT = PNR[2:]


def written_forms(twelve: str, today: date = TODAY) -> list[str]:
    """Every accepted written form of ``twelve`` as of ``today``."""
    born = parse_personnummer(twelve, today=today).birth_date
    hundred = (today.year - born.year - ((today.month, today.day) < (born.month, born.day))) >= 100
    forms = [twelve, f"{twelve[:8]}-{twelve[8:]}", f"{twelve[2:8]}{'+' if hundred else '-'}{twelve[8:]}"]
    if not hundred:
        forms.append(twelve[2:])
    return forms


def test_the_generated_test_number_is_the_one_the_log_tests_use() -> None:
    assert PNR == "199001011239"


@pytest.mark.parametrize("text", ["199001011239", "19900101-1239", "900101-1239", "9001011239", "  900101-1239\n"])
def test_every_usual_written_form_parses_to_the_same_number(text: str) -> None:
    pnr = parse_personnummer(text, today=TODAY)
    assert pnr == parse_personnummer(PNR, today=TODAY)
    assert pnr.canonical() == PNR
    assert pnr.birth_date == date(1990, 1, 1) and pnr.birth_year == 1990
    assert not pnr.is_coordination_number


def test_a_plus_sign_means_a_hundred_years_or_older() -> None:
    twelve = make(date(1920, 5, 17))
    assert parse_personnummer(f"{twelve[2:8]}+{twelve[8:]}", today=TODAY).birth_year == 1920
    assert parse_personnummer(f"{twelve[2:8]}-{twelve[8:]}", today=TODAY).birth_year == 2020


def test_the_century_turns_on_the_hundredth_birthday() -> None:
    twelve = make(date(1926, 11, 23))
    plus, minus = f"{twelve[2:8]}+{twelve[8:]}", f"{twelve[2:8]}-{twelve[8:]}"
    assert parse_personnummer(plus, today=TODAY).birth_date == date(1926, 11, 23)
    assert parse_personnummer(minus, today=TODAY).birth_date == date(2026, 11, 23)  # born today
    the_day_before = TODAY - timedelta(days=1)
    assert parse_personnummer(minus, today=the_day_before).birth_date == date(1926, 11, 23)
    with pytest.raises(ValueError, match="future"):
        parse_personnummer(twelve, today=the_day_before.replace(year=1926))


def test_a_samordningsnummer_is_accepted_with_its_real_birth_date() -> None:
    twelve = make(date(1990, 1, 1), coordination=True)
    pnr = parse_personnummer(f"{twelve[2:8]}-{twelve[8:]}", today=TODAY)
    assert pnr.is_coordination_number and pnr.birth_date == date(1990, 1, 1)
    assert pnr.canonical() == twelve and twelve[6:8] == "61"


def test_a_leap_day_is_checked_against_the_real_calendar() -> None:
    assert parse_personnummer(make(date(2000, 2, 29)), today=TODAY).birth_date == date(2000, 2, 29)
    leap = make(date(2000, 2, 29))
    with pytest.raises(ValueError, match="does not exist"):
        parse_personnummer(f"{leap[2:8]}+{leap[8:]}", today=TODAY)  # 1900 was not a leap year


def _with_check_digit(ten_without: str) -> str:
    return ten_without + str(luhn_digit(ten_without[-9:]))


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "no personnummer"),
        ("   ", "no personnummer"),
        (SHORT[:-1], "ten or twelve digits"),
        (PNR + "0", "ten or twelve digits"),
        ("19900101--1239", "at most one"),
        ("1990-01-01-1239", "at most one"),
        ("19900-1011239", "at most one"),
        ("900101 1239", "at most one"),
        ("9OO101-1239", "ten or twelve digits"),
        ("٩٠٠١٠١-١٢٣٩", "ten or twelve digits"),  # Arabic-Indic digits are not ASCII digits
        ("19900101+1239", "two-digit year"),
        (SHORT[:-1] + str((int(SHORT[-1]) + 1) % 10), "check digit"),
        (_with_check_digit("19901301123"), "does not exist"),  # month 13
        (_with_check_digit("19900230123"), "does not exist"),  # 30 February
        (_with_check_digit("19900100123"), "does not exist"),  # day 0
        (_with_check_digit("19900192123"), "does not exist"),  # samordningsnummer day 92
        (_with_check_digit("19900160123"), "does not exist"),  # samordningsnummer day 60 (= day 0)
        (_with_check_digit("20301201123"), "future"),
        (_with_check_digit("00000101123"), "does not exist"),  # year 0
    ],
)
def test_every_kind_of_invalid_number_is_refused_with_a_message_that_repeats_none_of_it(text: str, says: str) -> None:
    """SEC-14: the error says what is wrong, never what was typed (it may end up in a log)."""
    with pytest.raises(InvalidPersonnummer, match=says) as caught:
        parse_personnummer(text, today=TODAY)
    assert isinstance(caught.value, ValueError)
    assert not re.search(r"\d", str(caught.value))
    assert caught.value.__cause__ is None and caught.value.__context__ is None


def test_text_that_is_not_a_string_is_refused_as_a_value_error() -> None:
    with pytest.raises(ValueError, match="as text"):
        parse_personnummer(199001011239, today=TODAY)  # type: ignore[arg-type]


valid_numbers = st.builds(
    lambda born, serial, coordination: make(born, serial, coordination=coordination),
    st.dates(min_value=date(1850, 1, 1), max_value=TODAY),
    st.integers(min_value=0, max_value=999),
    st.booleans(),
)


@given(valid_numbers, st.data())
def test_any_valid_number_in_any_written_form_parses_back_to_itself(twelve: str, data: st.DataObject) -> None:
    pnr = parse_personnummer(twelve, today=TODAY)
    for form in written_forms(twelve):
        assert parse_personnummer(form, today=TODAY) == pnr
    assert pnr.canonical() == twelve
    assert pnr.age_on(TODAY) >= 0


@given(st.text(alphabet=st.characters(codec="utf-8") | st.sampled_from("0123456789-+ "), max_size=20))
def test_arbitrary_text_is_either_a_personnummer_or_a_value_error(text: str) -> None:
    try:
        parse_personnummer(text, today=TODAY)
    except ValueError as error:
        assert not re.search(r"\d", str(error))


@given(valid_numbers)
def test_repr_str_and_format_never_show_the_digits(twelve: str) -> None:
    """SEC-14: an accidental log call or f-string with a Personnummer shows only the birth year."""
    pnr = parse_personnummer(twelve, today=TODAY)
    logged = logging.LogRecord("kiosk", logging.INFO, __file__, 1, "signed in: %s %r", (pnr, pnr), None).getMessage()
    for shown in (repr(pnr), str(pnr), f"{pnr}", f"{pnr!r}", f"{pnr:>40}", logged, pnr.masked(), repr([pnr])):
        assert twelve[4:] not in shown and twelve[2:] not in shown
        assert set(re.findall(r"\d+", shown)) == {str(pnr.birth_year)}  # the birth year and nothing else
        assert find_personnummer(shown) == []
    assert str(pnr) == f"Personnummer(born {pnr.birth_year}, ****)"
    assert pnr.masked() == f"{pnr.birth_year}****-****"


def test_a_personnummer_is_immutable_and_checks_its_own_digits() -> None:
    pnr = parse_personnummer(PNR, today=TODAY)
    with pytest.raises(AttributeError):
        pnr._digits = "199001011247"  # type: ignore[misc]
    assert Personnummer(PNR) == pnr and hash(Personnummer(PNR)) == hash(pnr)
    for bad in ("199001011238", "19900101123", "199013011239"):
        with pytest.raises(ValueError) as caught:
            Personnummer(bad)
        assert not re.search(r"\d", str(caught.value))


def test_a_pseudonym_is_keyed_and_differs_by_context_and_by_key() -> None:
    """SEC-14: the roll holds keyed per-poll hashes, not the number and not a plain hash of it."""
    pnr = parse_personnummer(PNR, today=TODAY)
    other = parse_personnummer(make(date(1990, 1, 1), 124), today=TODAY)
    first = pseudonym(KEY, pnr, "poll-1")
    assert re.fullmatch(r"[0-9a-f]{64}", first)
    assert first == pseudonym(KEY, pnr, "poll-1")
    assert first != pseudonym(KEY, pnr, "poll-2")
    assert first != pseudonym(b"q" * 32, pnr, "poll-1")
    assert first != pseudonym(KEY, other, "poll-1")
    assert PNR not in first and find_personnummer(first) == []
    assert first not in {hashlib.sha256(v.encode()).hexdigest() for v in (PNR, PNR[2:], f"{PNR[:8]}-{PNR[8:]}")}


def test_a_pseudonym_refuses_a_short_key_and_an_empty_context() -> None:
    pnr = parse_personnummer(PNR, today=TODAY)
    with pytest.raises(ValueError, match="at least"):
        pseudonym(b"short", pnr, "poll-1")
    with pytest.raises(ValueError, match="context"):
        pseudonym(KEY, pnr, "")


@pytest.mark.parametrize("encode", [lambda s: s, lambda s: s.encode()])
def test_the_scanner_finds_a_number_in_text_and_bytes_in_every_written_form(
    encode: Callable[[str], str | bytes],
) -> None:
    """SEC-14: the scanner later tests run over logs, databases, payloads and pages."""
    samordning = make(date(1990, 1, 1), coordination=True)
    old = make(date(1920, 5, 17))
    for form in [*written_forms(PNR), *written_forms(samordning), *written_forms(old)]:
        blob = f'{{"event": "signed in", "who": "{form}"}}\x00junk'
        hits = find_personnummer(encode(blob))
        assert len(hits) == 1, form
        assert not re.search(r"\d", hits[0].split(" at offset ")[0])
        assert form.strip() not in hits[0]


def test_the_scanner_finds_a_number_glued_to_other_columns_of_a_database_row() -> None:
    assert len(find_personnummer(b"\x05\x17Anna Svensson" + PNR.encode() + b"ange\x00")) == 1


@given(valid_numbers)
def test_the_scanner_finds_every_generated_number(twelve: str) -> None:
    assert len(find_personnummer(f"x {twelve} y {twelve[2:]} z")) == 2


def test_the_scanner_ignores_luhn_invalid_runs_hsa_ids_hashes_and_timestamps() -> None:
    wrong_check = PNR[:-1] + str((int(PNR[-1]) + 1) % 10)
    text = " ".join(
        [
            wrong_check,
            wrong_check[2:],
            "SE2321000016-1003",  # HSA-id style staff id
            "SE2321000016-1AB2",
            pseudonym(KEY, parse_personnummer(PNR, today=TODAY), "poll-1"),
            "1" * 64,  # a digest that happens to be digits only
            "20261123131415",  # a compact timestamp
            "1795440000",  # a Unix time
            "2026-11-23T13:14:15Z",
            f"1{PNR}",  # thirteen digits: not a personnummer
        ]
    )
    assert find_personnummer(text) == []
    assert find_personnummer(text.encode()) == []


def test_the_scanner_ignores_two_stored_times_glued_together_but_not_a_number_after_a_time() -> None:
    # SQLite keeps a row's columns side by side: "…35.960407" + "2026-12-01 …" reads like 960407-2026 (Luhn-valid).
    assert find_personnummer(b"2026-12-01 03:15:35.9604072026-12-01 03:16:12.647653") == []
    assert len(find_personnummer(b"03:15:35 " + PNR.encode())) == 1


def test_the_scanner_ignores_digits_inside_a_hash_glued_to_a_word_but_not_a_number_glued_to_a_name() -> None:
    digits = PNR.replace("-", "")[2:]  # ten digits, the form without century
    assert len(find_personnummer(f"x {digits} y".encode())) == 1
    glued = "3fa0c" + digits + "b" * 50 + "demo"  # a long hex value with a digit stretch, then a text column
    assert find_personnummer(glued.encode()) == []
    assert len(find_personnummer(b"Anna Svensson" + PNR.encode() + b"ange")) == 1
    assert len(find_personnummer(b"\x01Anna" + PNR.encode() + b"ange\x00")) == 1
    assert find_personnummer(b"\x00\x00\x13\x02" + b"c" + digits.encode() + b"be07a9f3c1d2e4f5a6b\x00") == []
