"""Test card files: written owner-only, read back exactly, and every malformed file refused by name (SEC-19, SEC-20).

The key and certificate come from a card the test issuer (`provisioning.eid`) makes; the files here are then
broken one way at a time.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from protocol.testcard import (
    FORMAT,
    MAX_FILE_BYTES,
    MAX_TRIES,
    VERSION,
    CardFile,
    CardFileError,
    read_test_card,
    write_test_card,
)
from provisioning import eid as issuer

PIN = "246810"


@pytest.fixture(scope="module")
def card(tmp_path_factory: pytest.TempPathFactory) -> CardFile:
    """A resident's card as the test issuer writes it."""
    directory = tmp_path_factory.mktemp("eid-ca")
    issuer.ensure_test_ca(directory)
    made = issuer.issue_card(
        directory, directory / "cards" / "anna.json", name="Anna Andersson", personnummer="19850412-2386", pin=PIN
    )
    return read_test_card(made.path)


@pytest.fixture(scope="module")
def document(card: CardFile, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The card's file as JSON, to break."""
    path = tmp_path_factory.mktemp("card") / "anna.json"
    write_test_card(path, card)
    return dict(json.loads(path.read_text(encoding="utf-8")))


def written(tmp_path: Path, document: Any) -> Path:
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def refused(path: Path, match: str | None = None) -> CardFileError:
    """Reading ``path`` fails with a message that names the file and never shows the PIN."""
    with pytest.raises(CardFileError, match=match) as caught:
        read_test_card(path)
    message = str(caught.value)
    assert str(path) in message, message
    assert PIN not in message and "PRIVATE KEY" not in message
    assert "\n" not in message
    return caught.value


# --- writing and reading -----------------------------------------------------------------------------------


def test_a_card_written_and_read_back_is_the_same_card(card: CardFile, tmp_path: Path) -> None:
    path = tmp_path / "cards" / "copy.json"
    write_test_card(path, card)
    again = read_test_card(path)
    assert again == card
    assert (again.label, again.pin, again.pin_tries) == ("anna", PIN, 3)
    assert again.certificate() == card.certificate()
    assert again.certificate_der() == card.certificate().public_bytes(serialization.Encoding.DER)
    key = again.private_key()
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    assert key.public_key() == again.certificate().public_key()


def test_the_file_is_the_documented_json(card: CardFile, tmp_path: Path) -> None:
    path = tmp_path / "anna.json"
    write_test_card(path, card)
    document = json.loads(path.read_text(encoding="utf-8"))
    assert set(document) == {"format", "version", "label", "pin", "pin_tries", "key", "certificate"}
    assert (document["format"], document["version"]) == (FORMAT, VERSION) == ("tinget-test-card", 1)
    assert document["key"].startswith("-----BEGIN PRIVATE KEY-----")
    assert document["certificate"].startswith("-----BEGIN CERTIFICATE-----")


def test_a_card_file_is_readable_by_its_owner_only(card: CardFile, tmp_path: Path) -> None:
    """SEC-20: the file holds a private key and a PIN: mode 0600 whatever the umask."""
    path = tmp_path / "anna.json"
    previous = os.umask(0)
    try:
        write_test_card(path, card)
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_rewriting_a_loosely_readable_file_makes_it_owner_only(card: CardFile, tmp_path: Path) -> None:
    """A card file someone made 0644 (or a leftover temporary file) does not stay readable to others."""
    path = tmp_path / "anna.json"
    path.write_text("{}", encoding="utf-8")
    path.chmod(0o644)
    leftover = tmp_path / "anna.json.tmp"
    leftover.write_text("half a card", encoding="utf-8")
    leftover.chmod(0o666)
    write_test_card(path, card)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_test_card(path) == card
    assert sorted(p.name for p in tmp_path.iterdir()) == ["anna.json"]


def test_writing_replaces_the_card_atomically_and_leaves_no_temporary_file(card: CardFile, tmp_path: Path) -> None:
    path = tmp_path / "anna.json"
    write_test_card(path, card)
    fewer = CardFile(card.label, card.pin, 1, card.key_pem, card.certificate_pem)
    write_test_card(path, fewer)
    assert read_test_card(path).pin_tries == 1
    assert [p.name for p in tmp_path.iterdir()] == ["anna.json"]


def test_the_folder_is_made_when_missing(card: CardFile, tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "card.json"
    write_test_card(path, card)
    assert read_test_card(path) == card


def test_repr_and_str_hide_the_pin_and_the_key(card: CardFile) -> None:
    """SEC-03, SEC-20: a card in a log line or an assertion message shows only its label."""
    for shown in (repr(card), str(card), f"{card}", repr([card])):
        assert PIN not in shown and "PRIVATE KEY" not in shown and "CERTIFICATE" not in shown
    assert repr(card) == "CardFile('anna')"


def test_an_rsa_card_round_trips(tmp_path: Path) -> None:
    directory = tmp_path / "ca"
    issuer.ensure_test_ca(directory)
    made = issuer.issue_card(
        directory, tmp_path / "rsa.json", name="Rut R", personnummer="198504122386", pin=PIN, rsa_key=True
    )
    card = read_test_card(made.path)
    assert isinstance(card.private_key(), rsa.RSAPrivateKey)


# --- the card's own rules ----------------------------------------------------------------------------------


@pytest.mark.parametrize("pin", ["123456", "1234567", "12345678", "000000"])
def test_a_pin_of_6_to_8_digits_is_accepted(card: CardFile, pin: str) -> None:
    assert CardFile("x", pin, 3, card.key_pem, card.certificate_pem).pin == pin


@pytest.mark.parametrize("pin", ["", "12345", "123456789", "12345a", "12 345", "١٢٣٤٥٦", "12345\n"])
def test_a_pin_that_is_not_6_to_8_ascii_digits_is_refused(card: CardFile, pin: str) -> None:
    with pytest.raises(CardFileError, match="PIN is 6 to 8 digits") as caught:
        CardFile("x", pin, 3, card.key_pem, card.certificate_pem)
    assert not pin.strip() or pin.strip() not in str(caught.value)


@pytest.mark.parametrize("tries", [0, 1, MAX_TRIES])
def test_pin_tries_from_0_to_15_are_accepted(card: CardFile, tries: int) -> None:
    assert MAX_TRIES == 15
    assert CardFile("x", PIN, tries, card.key_pem, card.certificate_pem).pin_tries == tries


@pytest.mark.parametrize("tries", [-1, MAX_TRIES + 1, 255])
def test_pin_tries_outside_0_to_15_are_refused(card: CardFile, tries: int) -> None:
    with pytest.raises(CardFileError, match="pin_tries must be 0 to 15"):
        CardFile("x", PIN, tries, card.key_pem, card.certificate_pem)


# --- malformed files (SEC-19) ------------------------------------------------------------------------------


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    refused(tmp_path / "nowhere.json", "cannot be read")


def test_a_folder_is_not_a_card_file(tmp_path: Path) -> None:
    refused(tmp_path, "cannot be read")


@pytest.mark.parametrize(
    "raw",
    [b"", b"{", b"not json", b"\xff\xfe\x00garbage", b"[]", b"null", b'"text"', b"42", b"[" * 60_000],
    ids=["empty", "truncated", "text", "binary", "array", "null", "string", "number", "deeply-nested"],
)
def test_a_file_that_is_not_a_card_object_is_refused_by_name(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "card.json"
    path.write_bytes(raw)
    refused(path)


def test_an_oversize_file_is_refused_before_it_is_parsed(tmp_path: Path, document: dict[str, Any]) -> None:
    path = tmp_path / "big.json"
    path.write_text(json.dumps({**document, "padding": "x" * MAX_FILE_BYTES}), encoding="utf-8")
    refused(path, f"larger than {MAX_FILE_BYTES} bytes")


@pytest.mark.parametrize(
    "change",
    [
        {"format": "tinget-card"},
        {"format": None},
        {"version": 2},
        {"version": "1"},
        {"version": 0},
    ],
    ids=["other-format", "no-format", "version-2", "version-as-text", "version-0"],
)
def test_another_format_or_version_is_refused(tmp_path: Path, document: dict[str, Any], change: dict[str, Any]) -> None:
    refused(written(tmp_path, {**document, **change}), "is not a version 1 tinget-test-card file")


@pytest.mark.parametrize("member", ["format", "version", "label", "pin", "pin_tries", "key", "certificate"])
def test_a_file_missing_a_member_is_refused(tmp_path: Path, document: dict[str, Any], member: str) -> None:
    refused(written(tmp_path, {key: value for key, value in document.items() if key != member}))


def swap_pem_body(text: str) -> str:
    """The same PEM armour around base64 that is not the original structure."""
    lines = text.strip().splitlines()
    return "\n".join([lines[0], "QUJDREVGR0g=", lines[-1]]) + "\n"


def ed25519_key_pem() -> str:
    return (
        ed25519.Ed25519PrivateKey.generate()
        .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        .decode()
    )


BREAKAGES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "key-not-pem": lambda d: {**d, "key": "not a key"},
    "key-bad-der": lambda d: {**d, "key": swap_pem_body(d["key"])},
    "key-is-certificate": lambda d: {**d, "key": d["certificate"]},
    "key-non-ascii": lambda d: {**d, "key": "nyckel: åäö"},
    "key-ed25519": lambda d: {**d, "key": ed25519_key_pem()},
    "certificate-not-pem": lambda d: {**d, "certificate": "not a certificate"},
    "certificate-bad-der": lambda d: {**d, "certificate": swap_pem_body(d["certificate"])},
    "certificate-is-key": lambda d: {**d, "certificate": d["key"]},
    "pin-short": lambda d: {**d, "pin": "12345"},
    "pin-long": lambda d: {**d, "pin": "123456789"},
    "pin-letters": lambda d: {**d, "pin": "abcdef"},
    "tries-negative": lambda d: {**d, "pin_tries": -1},
    "tries-too-many": lambda d: {**d, "pin_tries": 16},
    "tries-text": lambda d: {**d, "pin_tries": "three"},
    "tries-list": lambda d: {**d, "pin_tries": [3]},
    "tries-null": lambda d: {**d, "pin_tries": None},
}


@pytest.mark.parametrize("breakage", list(BREAKAGES), ids=list(BREAKAGES))
def test_a_file_with_a_bad_value_is_refused_by_name(tmp_path: Path, document: dict[str, Any], breakage: str) -> None:
    """SEC-19: every broken value gives one CardFileError naming the file, never another exception."""
    refused(written(tmp_path, BREAKAGES[breakage](document)))


def test_the_pin_rule_is_named_when_a_file_breaks_it(tmp_path: Path, document: dict[str, Any]) -> None:
    refused(written(tmp_path, {**document, "pin": "12345"}), "PIN is 6 to 8 digits")
    refused(written(tmp_path, {**document, "pin_tries": 99}), "pin_tries must be 0 to 15")


def test_card_file_error_is_a_value_error() -> None:
    assert issubclass(CardFileError, ValueError)
