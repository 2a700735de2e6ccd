"""APDU encoding, response parsing and `transceive` chaining (61xx, 6Cxx) against hostile cards (SEC-13)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.card.apdu import Command, Response, transceive
from kiosk.card.errors import CardDataError


class ScriptedCard:
    """A transmit callable answering from a list (then 9000), recording what it was sent."""

    def __init__(self, answers: list[bytes] | Iterator[bytes]) -> None:
        self.answers = iter(answers)
        self.sent: list[bytes] = []

    def __call__(self, apdu: bytes | bytearray) -> bytes:
        self.sent.append(bytes(apdu))
        return next(self.answers, b"\x90\x00")


def test_commands_encode_as_the_four_short_cases() -> None:
    """Case 1 (header), 2 (Le, 256 as 00), 3 (Lc data) and 4 (Lc data Le)."""
    assert bytes(Command(0, 0x20, 0, 0x80).encode()) == bytes.fromhex("00200080")
    assert bytes(Command(0, 0xC0, 0, 0, le=256).encode()) == bytes.fromhex("00C0000000")
    assert bytes(Command(0, 0x20, 0, 0x80, b"\x01\x02").encode()) == bytes.fromhex("00200080020102")
    assert bytes(Command(0, 0xA4, 4, 0, b"\xa0", le=16).encode()) == bytes.fromhex("00A4040001A010")


def test_long_data_is_split_with_command_chaining() -> None:
    """Data over 255 bytes goes in 255-byte parts with CLA | 0x10 on all but the last."""
    parts = Command(0, 0x87, 0x07, 0x9A, bytes(600), le=256).chained()
    assert [(p.cla, len(p.data), p.le) for p in parts] == [(0x10, 255, None), (0x10, 255, None), (0x00, 90, 256)]
    with pytest.raises(ValueError, match="chaining"):
        Command(0, 0x87, 0, 0, bytes(256)).encode()


def test_transceive_sends_every_chained_part_and_returns_the_final_answer() -> None:
    """Intermediate parts get 9000; the last part's answer is the result."""
    card = ScriptedCard([b"\x90\x00", b"\x90\x00", b"ok\x90\x00"])
    response = transceive(card, Command(0, 0x87, 0x07, 0x9A, bytes(600), le=256))
    assert response == Response(b"ok", 0x9000)
    assert [apdu[0] for apdu in card.sent] == [0x10, 0x10, 0x00]


def test_61xx_is_followed_by_get_response_until_done() -> None:
    """61xx: fetch the rest with GET RESPONSE (Le = xx, 00 meaning 256) and join the parts."""
    card = ScriptedCard([b"a" * 256 + b"\x61\x00", b"b" * 256 + b"\x61\x10", b"c" * 16 + b"\x90\x00"])
    response = transceive(card, Command(0, 0xCB, 0x3F, 0xFF, b"\x5c\x01\x7e", le=256))
    assert response.data == b"a" * 256 + b"b" * 256 + b"c" * 16 and response.ok
    assert card.sent[1:] == [bytes.fromhex("00C0000000"), bytes.fromhex("00C0000010")]


def test_6cxx_resends_the_same_command_with_the_exact_le() -> None:
    """6Cxx: the card names the right Le; the command is sent again with it."""
    card = ScriptedCard([b"\x6c\x05", b"hello\x90\x00"])
    response = transceive(card, Command(0, 0xCB, 0x3F, 0xFF, b"\x5c\x01\x7e", le=1))
    assert response.data == b"hello"
    assert card.sent[1] == bytes.fromhex("00CB3FFF035C017E05")


def test_an_endless_61xx_stream_is_cut_off() -> None:
    """SEC-13: a card that never stops sending 61xx raises CardDataError instead of hanging."""
    endless = iter(lambda: b"x" * 10 + b"\x61\x0a", None)
    with pytest.raises(CardDataError):
        transceive(ScriptedCard(endless), Command(0, 0xCA, 0, 0, le=256))


def test_an_endless_6cxx_stream_is_cut_off() -> None:
    """SEC-13: endless 6Cxx also ends in CardDataError."""
    with pytest.raises(CardDataError):
        transceive(ScriptedCard(iter(lambda: b"\x6c\x01", None)), Command(0, 0xCA, 0, 0, le=2))


def test_an_oversized_chained_answer_is_refused() -> None:
    """SEC-13: the total response size is bounded."""
    endless = iter(lambda: b"x" * 256 + b"\x61\x00", None)
    with pytest.raises(CardDataError, match="too large"):
        transceive(ScriptedCard(endless), Command(0, 0xCA, 0, 0, le=256), max_size=4_000)


@pytest.mark.parametrize("raw", [b"", b"\x90"])
def test_a_response_without_status_word_is_card_data_error(raw: bytes) -> None:
    """SEC-13: fewer than two bytes is malformed."""
    with pytest.raises(CardDataError):
        Response.parse(raw)


@given(st.binary(max_size=600))
@settings(deadline=200, max_examples=300)
def test_arbitrary_response_bytes_parse_or_raise_card_data_error(raw: bytes) -> None:
    """SEC-13: Response.parse takes any bytes; only CardDataError escapes."""
    try:
        response = Response.parse(raw)
    except CardDataError:
        assert len(raw) < 2
    else:
        assert response.data + bytes([response.sw1, response.sw2]) == raw


ANSWER = st.one_of(
    st.binary(max_size=300),
    st.builds(lambda data, sw2: data + b"\x61" + bytes([sw2]), st.binary(max_size=300), st.integers(0, 255)),
    st.builds(lambda sw2: b"\x6c" + bytes([sw2]), st.integers(0, 255)),
)


@given(st.lists(ANSWER, max_size=40), st.binary(max_size=600))
@settings(deadline=500, max_examples=300)
def test_transceive_against_arbitrary_answers_only_raises_card_data_error(answers: list[bytes], data: bytes) -> None:
    """SEC-13: whatever a card answers, transceive returns a Response or raises CardDataError, within the deadline."""

    def hostile(apdu: bytes | bytearray) -> bytes:
        return next(stream, b"\x61\x00")

    stream = iter(answers)
    try:
        response = transceive(hostile, Command(0, 0xCB, 0x3F, 0xFF, data, le=256))
    except CardDataError:
        return
    assert isinstance(response, Response)
