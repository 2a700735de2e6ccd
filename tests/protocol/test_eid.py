"""The e-ID certificate profile: who a card names, employee ids, and the sign-in challenge (SEC-02, SEC-14).

Cards come from a test issuer made with `provisioning.eid`; the odd certificates (no serialNumber, two of them,
garbage) are signed by that issuer's card CA with keys made here. Every personnummer is fictitious and
Luhn-valid unless a test says otherwise.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.eid import (
    CHALLENGE_DOMAIN,
    EMPLOYEE_ID,
    STAFF_LIST_PURPOSE,
    CardHolder,
    HolderKind,
    NotAnEid,
    RefusalReason,
    card_holder,
    parse_employee_id,
    signin_challenge,
)
from protocol.identity import luhn_check_digit
from protocol.testcard import read_test_card
from provisioning import eid as issuer
from provisioning import pem
from tests.support.pii import find_personnummer

SETTINGS = settings(max_examples=200, deadline=None)
ANNA = "198504122386"  # 19850412-2386, fictitious
EMPLOYEE = "SE2321000255-abc123"
EMPLOYEE_ID_MESSAGE = "an employee id is written like SE2321000255-abc123 (SE, the organisation number, '-', id)"


def twelve(yyyymmdd: str, serial: str) -> str:
    """A Luhn-valid 12-digit number for a date and a three-digit serial."""
    nine = yyyymmdd[2:] + serial
    return f"{yyyymmdd}{serial}{luhn_check_digit(nine)}"


@pytest.fixture(scope="module")
def ca_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A test e-ID issuer (root and card CA), shared by this module's tests."""
    directory = tmp_path_factory.mktemp("eid-ca")
    issuer.ensure_test_ca(directory)
    return directory


def certificate_naming(ca_dir: Path, attributes: list[x509.NameAttribute]) -> x509.Certificate:
    """A card-like certificate with exactly ``attributes`` as its subject, signed by the test card CA."""
    layout = issuer.IssuerLayout(ca_dir)
    issuing, issuing_key = pem.read_cert(layout.issuing_cert), pem.read_key(layout.issuing_key)
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name(attributes))
        .issuer_name(issuing.subject)
        .public_key(ec.generate_private_key(ec.SECP256R1()).public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(issuing_key, hashes.SHA256())
    )


def serial_only(ca_dir: Path, *serials: str, name: str = "Anna Andersson") -> x509.Certificate:
    """A certificate with a common name and the given serialNumber attribute(s), as UTF8String (real cards
    use it too; PrintableString could not hold every test value)."""
    attributes = [x509.NameAttribute(NameOID.SERIAL_NUMBER, serial, _ASN1Type.UTF8String) for serial in serials]
    return certificate_naming(ca_dir, [*attributes, x509.NameAttribute(NameOID.COMMON_NAME, name)])


def issued(ca_dir: Path, tmp_path: Path, **options: object) -> x509.Certificate:
    """The certificate of a card `provisioning.eid.issue_card` makes with ``options``."""
    card = issuer.issue_card(ca_dir, tmp_path / "card.json", pin="123456", **options)  # type: ignore[arg-type]
    return read_test_card(card.path).certificate()


# --- card_holder -------------------------------------------------------------------------------------------


def test_a_resident_card_names_the_resident_by_given_name_full_name_and_birth_year(
    ca_dir: Path, tmp_path: Path
) -> None:
    """The issuer's resident profile: serialNumber is the 12-digit personnummer; given name and surname."""
    holder = card_holder(issued(ca_dir, tmp_path, name="Anna Andersson", personnummer="19850412-2386"))
    assert holder.kind is HolderKind.RESIDENT
    assert (holder.given_name, holder.full_name, holder.birth_year) == ("Anna", "Anna Andersson", 1985)
    assert holder.personnummer is not None and holder.personnummer.canonical() == ANNA
    assert holder.employee_id is None


def test_a_staff_card_names_the_employee_id_and_no_birth_year(ca_dir: Path, tmp_path: Path) -> None:
    """An HSA-style employee id in serialNumber makes a staff holder; staff have no birth year to show."""
    holder = card_holder(issued(ca_dir, tmp_path, name="Demo Demosson", employee_id=EMPLOYEE))
    assert holder.kind is HolderKind.STAFF
    assert (holder.given_name, holder.full_name, holder.employee_id) == ("Demo", "Demo Demosson", EMPLOYEE)
    assert holder.personnummer is None and holder.birth_year is None


def test_an_rsa_card_is_read_the_same_way(ca_dir: Path, tmp_path: Path) -> None:
    holder = card_holder(issued(ca_dir, tmp_path, name="Rut Rsa", personnummer=ANNA, rsa_key=True))
    assert (holder.kind, holder.given_name, holder.birth_year) == (HolderKind.RESIDENT, "Rut", 1985)


def test_a_samordningsnummer_is_a_resident_with_the_real_birth_year(ca_dir: Path) -> None:
    """The day plus 60 marks a coordination number; it is still a resident born in 1985."""
    number = twelve("19850472", "238")
    holder = card_holder(serial_only(ca_dir, number))
    assert holder.kind is HolderKind.RESIDENT and holder.birth_year == 1985
    assert holder.personnummer is not None and holder.personnummer.is_coordination_number


def test_the_serial_number_may_carry_surrounding_spaces(ca_dir: Path) -> None:
    assert card_holder(serial_only(ca_dir, f" {ANNA} ")).birth_year == 1985
    assert card_holder(serial_only(ca_dir, f"  {EMPLOYEE} ")).employee_id == EMPLOYEE


def test_without_a_given_name_the_first_word_of_the_common_name_is_used(ca_dir: Path) -> None:
    holder = card_holder(serial_only(ca_dir, ANNA, name="Bertil Berg"))
    assert (holder.given_name, holder.full_name) == ("Bertil", "Bertil Berg")


def test_without_a_common_name_the_full_name_is_given_name_and_surname(ca_dir: Path) -> None:
    cert = certificate_naming(
        ca_dir,
        [
            x509.NameAttribute(NameOID.SERIAL_NUMBER, ANNA),
            x509.NameAttribute(NameOID.GIVEN_NAME, "Cecilia"),
            x509.NameAttribute(NameOID.SURNAME, "Carlsson"),
        ],
    )
    holder = card_holder(cert)
    assert (holder.given_name, holder.full_name) == ("Cecilia", "Cecilia Carlsson")


def test_very_long_names_are_cut_to_what_a_screen_can_hold(ca_dir: Path) -> None:
    cert = certificate_naming(
        ca_dir,
        [
            x509.NameAttribute(NameOID.SERIAL_NUMBER, ANNA),
            x509.NameAttribute(NameOID.GIVEN_NAME, "G" * 100),
            x509.NameAttribute(NameOID.SURNAME, "S" * 200),
        ],
    )
    holder = card_holder(cert)
    assert (holder.given_name, holder.full_name) == ("G" * 64, "G" * 100 + " " + "S" * 99)


def test_a_card_holder_never_shows_the_personnummer_in_repr_str_or_format(ca_dir: Path, tmp_path: Path) -> None:
    """SEC-14: an accidental log line of a CardHolder leaks the kind, the given name and the birth year only."""
    holder = card_holder(issued(ca_dir, tmp_path, name="Anna Andersson", personnummer=ANNA))
    for shown in (repr(holder), str(holder), f"{holder}", f"{holder!r}", repr([holder]), repr({"h": holder})):
        assert find_personnummer(shown) == [], shown
        assert ANNA[2:8] not in shown and ANNA[8:] not in shown
    assert repr(holder) == "CardHolder(resident, 'Anna', born 1985)"


def test_a_staff_holder_shows_no_employee_id_either(ca_dir: Path, tmp_path: Path) -> None:
    holder = card_holder(issued(ca_dir, tmp_path, name="Demo Demosson", employee_id=EMPLOYEE))
    assert repr(holder) == "CardHolder(staff, 'Demo')" and EMPLOYEE not in str(holder)


def test_a_card_holder_is_frozen(ca_dir: Path, tmp_path: Path) -> None:
    holder = card_holder(issued(ca_dir, tmp_path, name="Anna Andersson", personnummer=ANNA))
    with pytest.raises(AttributeError):
        holder.given_name = "Eve"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("serials", "why"),
    [
        ((), "has no serialNumber"),
        ((ANNA[2:],), "not a 12-digit personnummer"),  # the 10-digit form is not the e-ID profile
        (("1985041223860",), "not a 12-digit personnummer"),
        ((ANNA[:-1] + "7",), "personnummer is not valid"),  # Luhn check digit wrong
        ((twelve("19851301", "123"),), "personnummer is not valid"),  # Luhn-valid, month 13
        ((twelve("20990101", "123"),), "personnummer is not valid"),  # born in the future
        ((ANNA, ANNA), "more than one"),
        ((ANNA, EMPLOYEE), "more than one"),
        (("19850412-2386",), "neither a personnummer nor an employee id"),
        (("١٩٨٥٠٤١٢٢٣٨٦",), "neither a personnummer nor an employee id"),  # Arabic-Indic digits
        (("garbage",), "neither a personnummer nor an employee id"),
        (("",), "neither a personnummer nor an employee id"),
        (("SE2321000255-abc 123",), "neither a personnummer nor an employee id"),
        (("se2321000255-abc123",), "neither a personnummer nor an employee id"),
    ],
    ids=[
        "no-serial",
        "ten-digits",
        "thirteen-digits",
        "luhn-invalid",
        "no-such-date",
        "future",
        "two-serials",
        "serial-and-employee-id",
        "with-a-dash",
        "unicode-digits",
        "garbage",
        "empty",
        "space-in-employee-id",
        "lower-case-se",
    ],
)
def test_a_certificate_that_names_no_person_is_not_an_eid(ca_dir: Path, serials: tuple[str, ...], why: str) -> None:
    """The refusal says why, and never repeats the digits it was given (SEC-14)."""
    with pytest.raises(NotAnEid, match=why) as refused:
        card_holder(serial_only(ca_dir, *serials))
    message = str(refused.value)
    assert find_personnummer(message) == []
    for serial in serials:
        assert not serial.strip() or serial.strip() not in message


def test_a_certificate_without_any_name_is_not_an_eid(ca_dir: Path) -> None:
    cert = certificate_naming(ca_dir, [x509.NameAttribute(NameOID.SERIAL_NUMBER, ANNA)])
    with pytest.raises(NotAnEid, match="names nobody"):
        card_holder(cert)


def test_a_certificate_with_two_common_names_is_not_an_eid(ca_dir: Path) -> None:
    cert = certificate_naming(
        ca_dir,
        [
            x509.NameAttribute(NameOID.SERIAL_NUMBER, ANNA),
            x509.NameAttribute(NameOID.COMMON_NAME, "Anna Andersson"),
            x509.NameAttribute(NameOID.COMMON_NAME, "Eve Evil"),
        ],
    )
    with pytest.raises(NotAnEid, match="more than one"):
        card_holder(cert)


def test_the_hubs_and_a_devices_certificates_are_not_eids(ca_dir: Path) -> None:
    """A certificate with only a common name (like the device PKI's) names no person."""
    cert = certificate_naming(ca_dir, [x509.NameAttribute(NameOID.COMMON_NAME, "hub")])
    with pytest.raises(NotAnEid, match="no serialNumber"):
        card_holder(cert)


def test_not_an_eid_is_a_value_error() -> None:
    """Callers that catch ValueError for any bad input catch it too."""
    assert issubclass(NotAnEid, ValueError)


# --- parse_employee_id -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [EMPLOYEE, "SE2321000255-A", "SE2321000255-" + "a1" * 15 + "b", "SE1234567890-x", "SE123456789012-Zz9"],
)
def test_valid_employee_ids_are_returned_as_written(text: str) -> None:
    assert parse_employee_id(text) == text
    assert EMPLOYEE_ID.fullmatch(text)


def test_surrounding_whitespace_is_dropped_from_an_employee_id() -> None:
    assert parse_employee_id(f"  {EMPLOYEE}\n") == EMPLOYEE


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "SE2321000255",
        "SE2321000255-",
        "SE2321000255abc123",
        "se2321000255-abc123",
        "SE232100025-abc123",  # nine digits
        "SE1234567890123-abc",  # thirteen digits
        "SE2321000255-" + "a" * 32,  # local part too long
        "SE2321000255-abc_123",
        "SE2321000255-abc 123",
        "SE2321000255-åäö",
        "SE٢٣٢١٠٠٠٢٥٥-abc",  # Arabic-Indic digits
        "NO2321000255-abc123",
        "SE2321000255-abc123\x00",
        ANNA,
        "19850412-2386",
    ],
)
def test_invalid_employee_ids_are_refused_without_repeating_them(text: str) -> None:
    with pytest.raises(ValueError) as refused:
        parse_employee_id(text)
    assert str(refused.value) == EMPLOYEE_ID_MESSAGE
    assert find_personnummer(str(refused.value)) == []


@pytest.mark.parametrize("value", [None, 2321000255, b"SE2321000255-abc123", ["SE2321000255-abc123"]])
def test_an_employee_id_that_is_not_text_is_refused(value: object) -> None:
    with pytest.raises(ValueError, match="is written like"):
        parse_employee_id(value)  # type: ignore[arg-type]


@SETTINGS
@given(st.text(max_size=60))
def test_parse_employee_id_either_returns_a_valid_id_or_one_fixed_message(text: str) -> None:
    """Whatever is typed, the result matches the pattern, or the error is the same words (the input never)."""
    try:
        parsed = parse_employee_id(text)
    except ValueError as exc:
        assert str(exc) == EMPLOYEE_ID_MESSAGE
    else:
        assert EMPLOYEE_ID.fullmatch(parsed) and parsed == text.strip()


# --- signin_challenge --------------------------------------------------------------------------------------

NONCE = bytes(range(32))
CERT_HASH = hashlib.sha256(b"a certificate").digest()


def framed(domain: bytes, device: str, at_ms: int, nonce: bytes, cert_hash: bytes) -> bytes:
    """An independent statement of the challenge's framing, so the test does not trust the code under test."""
    encoded = device.encode()
    return (
        len(domain).to_bytes(2, "big")
        + domain
        + len(encoded).to_bytes(2, "big")
        + encoded
        + at_ms.to_bytes(8, "big")
        + nonce
        + cert_hash
    )


def test_the_challenge_is_sha256_over_the_framed_domain_kiosk_moment_nonce_and_certificate() -> None:
    digest = signin_challenge(device_id="ange", at_ms=1_764_000_000_000, nonce=NONCE, certificate_sha256=CERT_HASH)
    assert len(digest) == 32
    assert digest == hashlib.sha256(framed(CHALLENGE_DOMAIN, "ange", 1_764_000_000_000, NONCE, CERT_HASH)).digest()


def test_the_challenge_is_domain_separated() -> None:
    """SEC-02: the digest is not what the same fields hash to under another domain string or with none."""
    assert CHALLENGE_DOMAIN == b"tinget/eid-signin/v1"
    digest = signin_challenge(device_id="ange", at_ms=1, nonce=NONCE, certificate_sha256=CERT_HASH)
    for domain in (b"", b"tinget/eid-signin/v2", STAFF_LIST_PURPOSE.encode(), b"tinget/personnummer-pseudonym/v1"):
        assert digest != hashlib.sha256(framed(domain, "ange", 1, NONCE, CERT_HASH)).digest()
    unframed = b"ange" + (1).to_bytes(8, "big") + NONCE + CERT_HASH
    assert digest not in (hashlib.sha256(unframed).digest(), hashlib.sha256(CHALLENGE_DOMAIN + unframed).digest())


def test_the_same_inputs_give_the_same_challenge() -> None:
    first = signin_challenge(device_id="ange", at_ms=5, nonce=NONCE, certificate_sha256=CERT_HASH)
    assert first == signin_challenge(device_id="ange", at_ms=5, nonce=NONCE, certificate_sha256=CERT_HASH)


challenge_inputs = st.tuples(
    st.sampled_from(["ange", "follinge", "ang", "e", "", "å-kiosk"]) | st.text(max_size=20),
    st.sampled_from([0, 1, 255, 256, 2**63]) | st.integers(min_value=0, max_value=2**64 - 1),
    st.sampled_from([NONCE, bytes(32), b"\xff" * 32]) | st.binary(min_size=32, max_size=32),
    st.sampled_from([CERT_HASH, bytes(32)]) | st.binary(min_size=32, max_size=32),
)


@SETTINGS
@given(challenge_inputs, challenge_inputs)
def test_distinct_inputs_give_distinct_challenges(
    first: tuple[str, int, bytes, bytes], second: tuple[str, int, bytes, bytes]
) -> None:
    """SEC-02: change the kiosk, the moment, the nonce or the certificate, and the card must sign another digest."""

    def challenge(inputs: tuple[str, int, bytes, bytes]) -> bytes:
        device, at_ms, nonce, cert_hash = inputs
        return signin_challenge(device_id=device, at_ms=at_ms, nonce=nonce, certificate_sha256=cert_hash)

    assert (challenge(first) == challenge(second)) == (first == second)


@SETTINGS
@given(st.text(min_size=1, max_size=10), st.text(min_size=1, max_size=10))
def test_bytes_cannot_move_between_the_kiosk_name_and_what_follows_it(head: str, tail: str) -> None:
    """The kiosk name is length-prefixed: 'ange' + moment is never 'ang' + a moment starting with 'e'."""
    joined = signin_challenge(device_id=head + tail, at_ms=0, nonce=NONCE, certificate_sha256=CERT_HASH)
    assert joined != signin_challenge(device_id=head, at_ms=0, nonce=NONCE, certificate_sha256=CERT_HASH)


@pytest.mark.parametrize("size", [0, 16, 31, 33, 64])
def test_a_nonce_that_is_not_32_bytes_is_refused(size: int) -> None:
    with pytest.raises(ValueError, match="nonce must be 32"):
        signin_challenge(device_id="ange", at_ms=1, nonce=bytes(size), certificate_sha256=CERT_HASH)


@pytest.mark.parametrize("size", [0, 20, 31, 33, 48, 64])
def test_a_certificate_hash_that_is_not_a_sha256_digest_is_refused(size: int) -> None:
    with pytest.raises(ValueError, match="SHA-256 digest"):
        signin_challenge(device_id="ange", at_ms=1, nonce=NONCE, certificate_sha256=bytes(size))


def test_a_card_signature_over_one_challenge_is_worth_nothing_for_another(ca_dir: Path, tmp_path: Path) -> None:
    """SEC-02: a signature replayed at another kiosk, another moment or with another nonce does not verify."""
    card = read_test_card(
        issuer.issue_card(ca_dir, tmp_path / "a.json", name="Anna A", personnummer=ANNA, pin="123456").path
    )
    key, cert = card.private_key(), card.certificate()
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    cert_hash = hashlib.sha256(card.certificate_der()).digest()
    nonce = secrets.token_bytes(32)
    asked = {"device_id": "ange", "at_ms": 1_764_000_000_000, "nonce": nonce, "certificate_sha256": cert_hash}
    prehashed = ec.ECDSA(utils.Prehashed(hashes.SHA256()))
    signature = key.sign(signin_challenge(**asked), prehashed)  # type: ignore[arg-type]
    public = cert.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    public.verify(signature, signin_challenge(**asked), prehashed)  # type: ignore[arg-type]
    for change in (
        {"device_id": "follinge"},
        {"at_ms": asked["at_ms"] + 1},  # type: ignore[operator]
        {"nonce": secrets.token_bytes(32)},
        {"certificate_sha256": hashlib.sha256(b"another card").digest()},
    ):
        with pytest.raises(InvalidSignature):
            public.verify(signature, signin_challenge(**{**asked, **change}), prehashed)  # type: ignore[arg-type]


# --- stable codes ------------------------------------------------------------------------------------------


def test_refusal_reasons_are_stable_strings() -> None:
    """The codes are in audit records and kiosk messages: renaming one is a protocol change."""
    assert {reason.name: str(reason) for reason in RefusalReason} == {
        "NOT_AN_EID": "not-an-eid",
        "UNSUPPORTED_CARD": "unsupported-card",
        "UNREADABLE": "unreadable",
        "UNKNOWN_ISSUER": "unknown-issuer",
        "EXPIRED": "expired",
        "NOT_YET_VALID": "not-yet-valid",
        "REVOKED": "revoked",
        "NO_TRUST_LIST": "no-trust-list",
        "STALE_TRUST_LIST": "stale-trust-list",
        "CLOCK_BEHIND": "clock-behind",
        "PIN_BLOCKED": "pin-blocked",
        "SIGNATURE_INVALID": "signature-invalid",
        "STAFF_UNKNOWN": "staff-unknown",
        "READER_GONE": "reader-gone",
    }
    assert RefusalReason("revoked") is RefusalReason.REVOKED and f"{RefusalReason.EXPIRED}" == "expired"


def test_holder_kinds_and_the_staff_list_purpose_are_stable_strings() -> None:
    assert [str(kind) for kind in HolderKind] == ["resident", "staff"]
    assert STAFF_LIST_PURPOSE == "tinget/staff-list/v2"


def test_a_card_holder_can_be_made_directly_for_fakes() -> None:
    """Kiosk fakes build holders without a certificate; the same privacy holds."""
    holder = CardHolder(HolderKind.STAFF, "Demo", "Demo Demosson", employee_id=EMPLOYEE)
    assert holder.birth_year is None and repr(holder) == "CardHolder(staff, 'Demo')"
