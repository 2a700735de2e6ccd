"""The test e-ID issuer (`provisioning.eid`) and `tinget provision test-ca | test-card | revoke-card`.

The issuer is what tests and the demo put in front of the kiosk's card checks, so its certificates and
revocation lists must look like a real issuer's: a root and a card CA, fresh signed CRLs, and cards in the
`protocol.eid` profile. Personnummer here are fictitious and Luhn-valid unless a test says otherwise.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from protocol.chain import ChainError, split_anchors, verify_chain
from protocol.eid import HolderKind, card_holder
from protocol.identity import luhn_check_digit
from protocol.testcard import read_test_card
from provisioning import eid as issuer
from provisioning import pem
from provisioning.cli import provision
from provisioning.pki import PkiError
from tests.support.pii import find_personnummer

ANNA = "19850412-2386"
ANNA_DIGITS = "198504122386"
EMPLOYEE = "SE2321000255-abc123"
PIN = "123456"


def luhn_valid(yyyymmdd: str, serial: str) -> str:
    """A fictitious Luhn-valid ``YYYYMMDD-NNNN`` for a date and a three-digit serial."""
    return f"{yyyymmdd}-{serial}{luhn_check_digit(yyyymmdd[2:] + serial)}"


BERTIL = luhn_valid("19700101", "123")


def crl(path: Path) -> x509.CertificateRevocationList:
    return x509.load_pem_x509_crl(path.read_bytes())


def crl_number(path: Path) -> int:
    return crl(path).extensions.get_extension_for_class(x509.CRLNumber).value.crl_number


def anchors(directory: Path) -> tuple[list[x509.Certificate], list[x509.Certificate]]:
    return split_anchors(x509.load_pem_x509_certificates(issuer.IssuerLayout(directory).chain.read_bytes()))


def certificate(path: Path) -> x509.Certificate:
    return read_test_card(path).certificate()


@pytest.fixture
def ca_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "eid-test"
    issuer.ensure_test_ca(directory)
    return directory


# --- the CA ------------------------------------------------------------------------------------------------


def test_the_test_ca_is_created_once_and_then_reused(tmp_path: Path) -> None:
    directory = tmp_path / "eid-test"
    first = issuer.ensure_test_ca(directory)
    assert [(step.what, step.action) for step in first] == [("e-ID root CA", "created"), ("e-ID card CA", "created")]
    layout = issuer.IssuerLayout(directory)
    before = {path: path.read_bytes() for path in (layout.root_cert, layout.root_key, layout.issuing_cert)}
    second = issuer.ensure_test_ca(directory)
    assert [(step.what, step.action) for step in second] == [("e-ID root CA", "reused"), ("e-ID card CA", "reused")]
    assert {path: path.read_bytes() for path in before} == before
    assert [step.not_after for step in first] == [step.not_after for step in second]


def test_the_keys_are_owner_only_and_the_public_files_readable(ca_dir: Path) -> None:
    """SEC-20: the CA keys are secrets on disk."""
    layout = issuer.IssuerLayout(ca_dir)
    for key in (layout.root_key, layout.issuing_key):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
    for public in (layout.root_cert, layout.issuing_cert, layout.chain, layout.crl_dir / "root.crl"):
        assert stat.S_IMODE(public.stat().st_mode) == 0o644


def test_the_root_signs_the_card_ca_and_both_are_cas_with_path_limits(ca_dir: Path) -> None:
    layout = issuer.IssuerLayout(ca_dir)
    root, issuing = pem.read_cert(layout.root_cert), pem.read_cert(layout.issuing_cert)
    assert root.subject == root.issuer and issuing.issuer == root.subject
    issuing.verify_directly_issued_by(root)
    root.verify_directly_issued_by(root)
    for cert, path_length in ((root, 1), (issuing, 0)):
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints)
        assert constraints.critical and constraints.value.ca and constraints.value.path_length == path_length
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        assert usage.key_cert_sign and usage.crl_sign and not usage.digital_signature
    assert root.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Tinget Test e-ID Root CA"
    assert issuing.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Tinget Test e-ID Card CA 1"


def test_the_organisation_names_the_issuer(tmp_path: Path) -> None:
    issuer.ensure_test_ca(tmp_path, organisation="Krokom Test")
    root = pem.read_cert(issuer.IssuerLayout(tmp_path).root_cert)
    assert root.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "Krokom Test"


def test_chain_pem_holds_the_card_ca_then_the_root(ca_dir: Path) -> None:
    """It is the hub's eid_ca_file: both CAs, nothing else."""
    layout = issuer.IssuerLayout(ca_dir)
    chain = x509.load_pem_x509_certificates(layout.chain.read_bytes())
    assert chain == [pem.read_cert(layout.issuing_cert), pem.read_cert(layout.root_cert)]


def test_both_crls_are_signed_by_their_ca_and_fresh_for_seven_days(tmp_path: Path) -> None:
    now = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
    issuer.ensure_test_ca(tmp_path, now=now)
    layout = issuer.IssuerLayout(tmp_path)
    for name, ca in (("root", layout.root_cert), ("issuing", layout.issuing_cert)):
        held = crl(layout.crl_dir / f"{name}.crl")
        authority = pem.read_cert(ca)
        public_key = authority.public_key()
        assert isinstance(public_key, ec.EllipticCurvePublicKey)
        assert held.issuer == authority.subject and held.is_signature_valid(public_key)
        assert held.last_update_utc <= now < held.next_update_utc  # type: ignore[operator]
        assert held.next_update_utc == now + dt.timedelta(days=issuer.CRL_DAYS) == now + dt.timedelta(days=7)
        assert len(held) == 0
        ski = authority.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
        assert held.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier == ski


def test_crls_from_a_real_run_are_valid_now(ca_dir: Path) -> None:
    """Without a fixed clock: the lists start before now and end about a week later."""
    now = dt.datetime.now(dt.UTC)
    held = crl(issuer.IssuerLayout(ca_dir).crl_dir / "issuing.crl")
    assert held.last_update_utc <= now
    assert held.next_update_utc is not None
    assert dt.timedelta(days=6, hours=23) < held.next_update_utc - now <= dt.timedelta(days=7)


def test_the_crl_number_grows_on_every_write(ca_dir: Path, tmp_path: Path) -> None:
    """Kiosks and the hub tell a newer list by it: every re-signing takes the next number, on both lists."""
    layout = issuer.IssuerLayout(ca_dir)
    numbers = [crl_number(layout.crl_dir / "issuing.crl")]
    issuer.ensure_test_ca(ca_dir)
    numbers.append(crl_number(layout.crl_dir / "issuing.crl"))
    issuer.write_crls(ca_dir)
    numbers.append(crl_number(layout.crl_dir / "issuing.crl"))
    card = issuer.issue_card(ca_dir, tmp_path / "b.json", name="Bertil Berg", personnummer=BERTIL, pin=PIN)
    issuer.revoke_card(ca_dir, card.path)
    numbers.append(crl_number(layout.crl_dir / "issuing.crl"))
    assert numbers == [1, 2, 3, 4]
    assert crl_number(layout.crl_dir / "root.crl") == 4
    assert json.loads(layout.revoked_file.read_text())["crl_number"] == 4


def test_certificates_that_do_not_match_their_keys_are_refused(ca_dir: Path) -> None:
    layout = issuer.IssuerLayout(ca_dir)
    layout.issuing_key.unlink()
    with pytest.raises(PkiError, match="do not match their keys"):
        issuer.ensure_test_ca(ca_dir)


def test_a_damaged_revocation_file_is_refused_not_overwritten(ca_dir: Path) -> None:
    layout = issuer.IssuerLayout(ca_dir)
    layout.revoked_file.write_text("{", encoding="utf-8")
    with pytest.raises(PkiError, match=r"revoked\.json is not valid") as refused:
        issuer.write_crls(ca_dir)
    assert "restore it" in str(refused.value)
    assert layout.revoked_file.read_text(encoding="utf-8") == "{"


# --- cards -------------------------------------------------------------------------------------------------


def test_a_resident_card_follows_the_eid_profile_and_chains_to_the_test_ca(ca_dir: Path, tmp_path: Path) -> None:
    """Subject serialNumber is the 12-digit personnummer; digitalSignature; clientAuth; path card → CA → root."""
    now = dt.datetime.now(dt.UTC)
    made = issuer.issue_card(ca_dir, tmp_path / "anna.json", name="Anna Andersson", personnummer=ANNA, pin=PIN)
    cert = certificate(made.path)
    assert cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)[0].value == ANNA_DIGITS
    assert cert.subject.get_attributes_for_oid(NameOID.GIVEN_NAME)[0].value == "Anna"
    assert cert.subject.get_attributes_for_oid(NameOID.SURNAME)[0].value == "Andersson"
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Anna Andersson"
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature
    assert not (usage.value.key_cert_sign or usage.value.crl_sign or usage.value.key_encipherment)
    assert list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.CLIENT_AUTH
    ]
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    roots, intermediates = anchors(ca_dir)
    path = verify_chain(cert, roots, intermediates, now)
    layout = issuer.IssuerLayout(ca_dir)
    assert path == [cert, pem.read_cert(layout.issuing_cert), pem.read_cert(layout.root_cert)]
    assert (made.serial, made.not_after, made.holder) == (
        cert.serial_number,
        cert.not_valid_after_utc,
        "Anna Andersson",
    )
    holder = card_holder(cert)
    assert (holder.kind, holder.given_name, holder.birth_year) == (HolderKind.RESIDENT, "Anna", 1985)


@pytest.mark.parametrize("written", [ANNA, ANNA_DIGITS, "850412-2386", "8504122386"])
def test_every_written_form_of_the_personnummer_becomes_the_twelve_digits(
    ca_dir: Path, tmp_path: Path, written: str
) -> None:
    made = issuer.issue_card(ca_dir, tmp_path / "anna.json", name="Anna Andersson", personnummer=written, pin=PIN)
    assert certificate(made.path).subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)[0].value == ANNA_DIGITS


def test_the_card_file_holds_the_key_of_the_certificate_the_pin_and_the_tries(ca_dir: Path, tmp_path: Path) -> None:
    made = issuer.issue_card(
        ca_dir, tmp_path / "cards" / "anna.json", name="Anna Andersson", personnummer=ANNA, pin="87654321", pin_tries=5
    )
    card = read_test_card(made.path)
    assert (card.label, card.pin, card.pin_tries) == ("anna", "87654321", 5)
    key = card.private_key()
    assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1"
    assert key.public_key() == card.certificate().public_key()
    assert stat.S_IMODE(made.path.stat().st_mode) == 0o600
    labelled = issuer.issue_card(ca_dir, tmp_path / "x.json", name="A B", personnummer=ANNA, pin=PIN, label="Anna")
    assert read_test_card(labelled.path).label == "Anna"


def test_a_staff_card_names_the_employee_id(ca_dir: Path, tmp_path: Path) -> None:
    made = issuer.issue_card(ca_dir, tmp_path / "staff.json", name="Demo Demosson", employee_id=EMPLOYEE, pin=PIN)
    cert = certificate(made.path)
    assert cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)[0].value == EMPLOYEE
    holder = card_holder(cert)
    assert (holder.kind, holder.employee_id, holder.full_name) == (HolderKind.STAFF, EMPLOYEE, "Demo Demosson")
    roots, intermediates = anchors(ca_dir)
    assert len(verify_chain(cert, roots, intermediates, dt.datetime.now(dt.UTC))) == 3


def test_a_one_word_name_has_no_surname(ca_dir: Path, tmp_path: Path) -> None:
    made = issuer.issue_card(ca_dir, tmp_path / "c.json", name="  Cher ", personnummer=ANNA, pin=PIN)
    cert = certificate(made.path)
    assert cert.subject.get_attributes_for_oid(NameOID.SURNAME) == []
    assert card_holder(cert).full_name == "Cher" and made.holder == "Cher"


def test_an_rsa_card_has_a_2048_bit_key_and_chains(ca_dir: Path, tmp_path: Path) -> None:
    made = issuer.issue_card(ca_dir, tmp_path / "rsa.json", name="Rut Rsa", personnummer=ANNA, pin=PIN, rsa_key=True)
    key = read_test_card(made.path).private_key()
    assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 2048
    roots, intermediates = anchors(ca_dir)
    assert len(verify_chain(certificate(made.path), roots, intermediates, dt.datetime.now(dt.UTC))) == 3


def test_an_expired_card_ended_a_month_ago_and_no_longer_chains(ca_dir: Path, tmp_path: Path) -> None:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    made = issuer.issue_card(
        ca_dir, tmp_path / "old.json", name="Cecilia Carlsson", personnummer=ANNA, pin=PIN, expired=True, now=now
    )
    cert = certificate(made.path)
    assert cert.not_valid_after_utc < now and made.not_after == cert.not_valid_after_utc
    assert now - cert.not_valid_after_utc == dt.timedelta(days=30)
    roots, intermediates = anchors(ca_dir)
    with pytest.raises(ChainError):
        verify_chain(cert, roots, intermediates, now)


def test_the_lifetime_is_the_days_asked_for(ca_dir: Path, tmp_path: Path) -> None:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    made = issuer.issue_card(ca_dir, tmp_path / "a.json", name="A B", personnummer=ANNA, pin=PIN, days=30, now=now)
    assert made.not_after == now + dt.timedelta(days=30)
    assert certificate(made.path).not_valid_before_utc == now - issuer.BACKDATE


def test_every_card_gets_its_own_key_and_serial(ca_dir: Path, tmp_path: Path) -> None:
    first = issuer.issue_card(ca_dir, tmp_path / "1.json", name="A B", personnummer=ANNA, pin=PIN)
    second = issuer.issue_card(ca_dir, tmp_path / "2.json", name="A B", personnummer=ANNA, pin=PIN)
    assert first.serial != second.serial
    assert read_test_card(first.path).key_pem != read_test_card(second.path).key_pem


@pytest.mark.parametrize(
    "personnummer",
    [
        "19850412-2387",  # Luhn check digit wrong
        luhn_valid("19851301", "123"),  # month 13
        luhn_valid("20990101", "123"),  # born in the future
        "1985041223",  # ten digits read as YYMMDDNNNN: month 85 does not exist
        "19850412/2386",
        "ABCDEFGH-IJKL",
    ],
)
def test_an_invalid_personnummer_is_one_clean_line_that_does_not_echo_the_digits(
    ca_dir: Path, tmp_path: Path, personnummer: str
) -> None:
    """SEC-14: the error says what is wrong with the number, never the number; no card file is written."""
    out = tmp_path / "bad.json"
    with pytest.raises(PkiError) as refused:
        issuer.issue_card(ca_dir, out, name="Anna Andersson", personnummer=personnummer, pin=PIN)
    message = str(refused.value)
    assert "personnummer" in message and "\n" not in message
    assert personnummer not in message and personnummer.replace("-", "") not in message
    assert find_personnummer(message) == []
    assert not out.exists()


@pytest.mark.parametrize("employee_id", ["SE123-abc", "se5566778899-abc123", "SE5566778899-", "SE5566778899-åäö"])
def test_an_invalid_employee_id_is_refused_without_echoing_it(ca_dir: Path, tmp_path: Path, employee_id: str) -> None:
    with pytest.raises(PkiError, match="an employee id is written like") as refused:
        issuer.issue_card(ca_dir, tmp_path / "bad.json", name="Demo Demosson", employee_id=employee_id, pin=PIN)
    assert employee_id not in str(refused.value)


@pytest.mark.parametrize("ids", [{}, {"personnummer": ANNA, "employee_id": EMPLOYEE}], ids=["neither", "both"])
def test_a_card_names_exactly_one_resident_or_staff_member(ca_dir: Path, tmp_path: Path, ids: dict[str, str]) -> None:
    with pytest.raises(PkiError, match="give exactly one of --personnummer"):
        issuer.issue_card(ca_dir, tmp_path / "x.json", name="Anna Andersson", pin=PIN, **ids)  # type: ignore[arg-type]


def test_a_card_needs_a_name(ca_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(PkiError, match="needs the holder's name"):
        issuer.issue_card(ca_dir, tmp_path / "x.json", name="   ", personnummer=ANNA, pin=PIN)


def test_a_card_without_a_test_ca_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(PkiError, match="run `tinget provision test-ca --dir"):
        issuer.issue_card(tmp_path / "none", tmp_path / "x.json", name="Anna Andersson", personnummer=ANNA, pin=PIN)


# --- revocation --------------------------------------------------------------------------------------------


def test_revoking_a_card_puts_its_serial_on_the_card_cas_list_once(ca_dir: Path, tmp_path: Path) -> None:
    made = issuer.issue_card(ca_dir, tmp_path / "bertil.json", name="Bertil Berg", personnummer=BERTIL, pin=PIN)
    other = issuer.issue_card(ca_dir, tmp_path / "anna.json", name="Anna Andersson", personnummer=ANNA, pin=PIN)
    at = dt.datetime(2026, 5, 1, 8, 30, tzinfo=dt.UTC)
    assert issuer.revoke_card(ca_dir, made.path, now=at) is True
    layout = issuer.IssuerLayout(ca_dir)
    issuing_list = crl(layout.crl_dir / "issuing.crl")
    entry = issuing_list.get_revoked_certificate_by_serial_number(made.serial)
    assert entry is not None and entry.revocation_date_utc == at
    assert issuing_list.get_revoked_certificate_by_serial_number(other.serial) is None
    public_key = pem.read_cert(layout.issuing_cert).public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey) and issuing_list.is_signature_valid(public_key)
    assert len(crl(layout.crl_dir / "root.crl")) == 0
    number = crl_number(layout.crl_dir / "issuing.crl")
    assert issuer.revoke_card(ca_dir, made.path) is False
    assert crl_number(layout.crl_dir / "issuing.crl") == number  # nothing re-signed
    assert len(crl(layout.crl_dir / "issuing.crl")) == 1


def test_a_revocation_survives_re_signing_the_lists(ca_dir: Path, tmp_path: Path) -> None:
    made = issuer.issue_card(ca_dir, tmp_path / "bertil.json", name="Bertil Berg", personnummer=BERTIL, pin=PIN)
    issuer.revoke_card(ca_dir, made.path)
    issuer.ensure_test_ca(ca_dir)
    held = crl(issuer.IssuerLayout(ca_dir).crl_dir / "issuing.crl")
    assert held.get_revoked_certificate_by_serial_number(made.serial) is not None


def test_revoked_json_names_the_card_by_label_not_by_person(ca_dir: Path, tmp_path: Path) -> None:
    """SEC-14: the file keeps the serial and the card file's name, not the personnummer."""
    made = issuer.issue_card(ca_dir, tmp_path / "bertil.json", name="Bertil Berg", personnummer=BERTIL, pin=PIN)
    issuer.revoke_card(ca_dir, made.path)
    text = issuer.IssuerLayout(ca_dir).revoked_file.read_text(encoding="utf-8")
    entry = json.loads(text)["revoked"][0]
    assert entry["serial"] == format(made.serial, "x") and entry["label"] == "bertil"
    assert find_personnummer(text) == []


@pytest.mark.parametrize("organisation", ["Another Issuer", "Tinget Test e-ID"], ids=["other-name", "same-name"])
def test_revoking_a_card_of_another_ca_is_refused(ca_dir: Path, tmp_path: Path, organisation: str) -> None:
    """Another test CA, even one with the very same names, did not issue the card: its serial stays off the list."""
    other_ca = tmp_path / "other"
    issuer.ensure_test_ca(other_ca, organisation=organisation)
    foreign = issuer.issue_card(other_ca, tmp_path / "f.json", name="David Dahl", personnummer=ANNA, pin=PIN)
    with pytest.raises(PkiError, match="was not issued by the test CA in"):
        issuer.revoke_card(ca_dir, foreign.path)
    assert len(crl(issuer.IssuerLayout(ca_dir).crl_dir / "issuing.crl")) == 0
    assert json.loads(issuer.IssuerLayout(ca_dir).revoked_file.read_text())["revoked"] == []


def test_revoking_something_that_is_not_a_card_file_is_refused(ca_dir: Path, tmp_path: Path) -> None:
    junk = tmp_path / "junk.json"
    junk.write_text("{}", encoding="utf-8")
    with pytest.raises(PkiError, match=re.escape(f"test card {junk}")):
        issuer.revoke_card(ca_dir, junk)


# --- the commands ------------------------------------------------------------------------------------------


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(provision, [str(arg) for arg in args])


def lines(result: Result) -> list[str]:
    return result.output.strip().splitlines()


def refused(result: Result, message: str) -> None:
    """One line starting ``Error: <message>``, exit 1, no traceback."""
    assert result.exit_code == 1, result.output
    assert len(lines(result)) == 1 and lines(result)[0].startswith(f"Error: {message}"), result.output
    assert isinstance(result.exception, SystemExit) and "Traceback" not in result.output


def test_test_ca_prints_what_it_made_and_where_the_hub_points(tmp_path: Path) -> None:
    directory = tmp_path / "eid-test"
    first = run("test-ca", "--dir", directory)
    assert first.exit_code == 0, first.output
    until = pem.read_cert(directory / "root.pem").not_valid_after_utc
    card_until = pem.read_cert(directory / "issuing.pem").not_valid_after_utc
    assert lines(first) == [
        f"created  e-ID root CA {directory / 'root.pem'}  (valid until {until:%Y-%m-%d})",
        f"created  e-ID card CA {directory / 'issuing.pem'}  (valid until {card_until:%Y-%m-%d})",
        f"eid_ca_file = {directory / 'chain.pem'}",
        f"eid_crl_dir = {directory / 'crl'}  (revocation lists valid 7 days; run again to renew)",
    ]
    second = run("test-ca", "--dir", directory)
    assert second.exit_code == 0
    assert [line.split()[0] for line in lines(second)[:2]] == ["reused", "reused"]
    assert "created" not in second.output


def test_test_ca_takes_the_organisation(tmp_path: Path) -> None:
    assert run("test-ca", "--dir", tmp_path, "--organisation", "Krokom Test").exit_code == 0
    root = pem.read_cert(tmp_path / "root.pem")
    assert root.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Krokom Test Root CA"


def test_test_card_prints_the_holder_file_serial_and_end_never_the_personnummer(ca_dir: Path, tmp_path: Path) -> None:
    """SEC-14: what the terminal shows names the holder, not the number."""
    out = tmp_path / "cards" / "anna.json"
    result = run(
        "test-card", "--dir", ca_dir, "--name", "Anna Andersson", "--personnummer", ANNA, "--pin", PIN, "--out", out
    )
    assert result.exit_code == 0, result.output
    cert = certificate(out)
    until = cert.not_valid_after_utc
    assert lines(result) == [
        f"card     Anna Andersson: {out} (serial {cert.serial_number:x}, valid until {until:%Y-%m-%d})"
    ]
    assert find_personnummer(result.output) == []
    card = read_test_card(out)
    assert (card.label, card.pin, card.pin_tries) == ("Anna Andersson", PIN, 3)


def test_test_card_issues_staff_rsa_and_expired_cards(ca_dir: Path, tmp_path: Path) -> None:
    staff = tmp_path / "staff.json"
    result = run(
        "test-card", "--dir", ca_dir, "--name", "Demo Demosson", "--employee-id", EMPLOYEE, "--pin", PIN,
        "--out", staff, "--label", "Personal", "--pin-tries", "15", "--rsa",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    card = read_test_card(staff)
    assert (card.label, card.pin_tries) == ("Personal", 15) and isinstance(card.private_key(), rsa.RSAPrivateKey)
    assert card_holder(card.certificate()).employee_id == EMPLOYEE
    old = tmp_path / "old.json"
    expired = run(
        "test-card", "--dir", ca_dir, "--name", "C C", "--personnummer", ANNA, "--pin", PIN, "--out", old, "--expired"
    )
    assert expired.exit_code == 0, expired.output
    assert certificate(old).not_valid_after_utc < dt.datetime.now(dt.UTC)


def test_test_card_mistakes_get_one_line(ca_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "x.json"
    base = ("test-card", "--dir", ca_dir, "--name", "Anna Andersson", "--out", out)
    bad = run(*base, "--personnummer", "19850412-2387", "--pin", PIN)
    refused(bad, "the check digit of the personnummer does not match")
    assert "2387" not in bad.output and "19850412" not in bad.output
    refused(run(*base, "--pin", PIN), "give exactly one of --personnummer (a resident) and --employee-id (staff)")
    refused(run(*base, "--personnummer", ANNA, "--employee-id", EMPLOYEE, "--pin", PIN), "give exactly one of")
    refused(run(*base, "--employee-id", "SE1-x", "--pin", PIN), "an employee id is written like SE2321000255-abc123")
    refused(run(*base, "--personnummer", ANNA, "--pin", "12345"), "a test card's PIN is 6 to 8 digits")
    none = tmp_path / "none"
    refused(
        run("test-card", "--dir", none, "--name", "A B", "--personnummer", ANNA, "--pin", PIN, "--out", out),
        f"no test e-ID CA in {none}; run `tinget provision test-ca --dir {none}`",
    )
    assert not out.exists()
    assert run(*base, "--personnummer", ANNA, "--pin", PIN, "--pin-tries", "16").exit_code == 2  # click's range
    assert run(*base, "--personnummer", ANNA, "--pin", PIN, "--days", "0").exit_code == 2


def test_revoke_card_says_what_it_did_and_what_to_run_next(ca_dir: Path, tmp_path: Path) -> None:
    made = issuer.issue_card(ca_dir, tmp_path / "bertil.json", name="Bertil Berg", personnummer=BERTIL, pin=PIN)
    first = run("revoke-card", "--dir", ca_dir, made.path)
    assert first.exit_code == 0, first.output
    assert lines(first) == [
        f"revoked  {made.path}",
        "Run `tinget hub sets publish` to send the new list to the kiosks.",
    ]
    again = run("revoke-card", "--dir", ca_dir, made.path)
    assert again.exit_code == 0 and lines(again)[0] == f"{made.path} was already revoked"


def test_revoke_card_mistakes_get_one_line(ca_dir: Path, tmp_path: Path) -> None:
    other_ca = tmp_path / "other"
    issuer.ensure_test_ca(other_ca)
    foreign = issuer.issue_card(other_ca, tmp_path / "f.json", name="David Dahl", personnummer=ANNA, pin=PIN)
    refused(run("revoke-card", "--dir", ca_dir, foreign.path), f"{foreign.path} was not issued by the test CA in")
    missing = run("revoke-card", "--dir", ca_dir, tmp_path / "nowhere.json")
    assert missing.exit_code == 2 and "does not exist" in missing.output  # click checks the path
    no_ca = run("revoke-card", "--dir", tmp_path / "none", foreign.path)
    assert no_ca.exit_code == 1 and len(lines(no_ca)) == 1 and "Traceback" not in no_ca.output
    assert "issuing.pem" in no_ca.output


def test_the_commands_are_listed_in_provision_help() -> None:
    result = run("--help")
    assert result.exit_code == 0
    for command in ("test-ca", "test-card", "revoke-card"):
        assert command in result.output
