"""Offline certificate checks at the kiosk: chain, validity, revocation, list freshness, clock (SEC-01, SEC-15)."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography.hazmat.primitives import serialization

from protocol.eid import HolderKind
from protocol.eid_validation import EidTrust, Reason, Refused, ValidationPolicy, validate_certificate


def _now() -> dt.datetime:
    """Now, asked for when a test runs (the session's test cards are made when first needed, after collection)."""
    return dt.datetime.now(dt.UTC)


def _der(issuer, name: str) -> bytes:
    return issuer.card(name).certificate().public_bytes(serialization.Encoding.DER)


@pytest.mark.parametrize(
    ("card", "reason"),
    [
        ("anna", None),
        ("revoked", Reason.REVOKED),
        ("expired", Reason.EXPIRED),
        ("foreign", Reason.UNKNOWN_ISSUER),
    ],
)
def test_only_a_valid_card_from_a_trusted_issuer_passes(eid_issuer, card, reason) -> None:
    """SEC-01: valid, revoked, expired, foreign CA — only the first is accepted."""
    if reason is None:
        valid = validate_certificate(_der(eid_issuer, card), eid_issuer.trust(), _now())
        assert valid.holder.kind is HolderKind.RESIDENT and valid.holder.birth_year == 1985
        assert len(valid.chain) == 3
        return
    with pytest.raises(Refused) as refused:
        validate_certificate(_der(eid_issuer, card), eid_issuer.trust(), _now())
    assert refused.value.reason is reason


def test_a_kiosk_without_revocation_lists_refuses_every_card(eid_issuer) -> None:
    """SEC-01: no list, no session (hard-fail), even for a card that is valid."""
    with pytest.raises(Refused) as refused:
        validate_certificate(_der(eid_issuer, "anna"), eid_issuer.trust(crls=False), _now())
    assert refused.value.reason is Reason.NO_TRUST_LIST


def test_a_kiosk_without_any_trust_set_refuses_every_card(eid_issuer) -> None:
    """SEC-01: a kiosk that has not yet received the trust set trusts nobody."""
    with pytest.raises(Refused) as refused:
        validate_certificate(_der(eid_issuer, "anna"), EidTrust(), _now())
    assert refused.value.reason is Reason.NO_TRUST_LIST


def test_a_list_is_good_until_its_next_update_plus_the_grace(eid_issuer) -> None:
    """SEC-01, SEC-15: fake clock — within next update + grace the card passes; a minute later it is refused."""
    next_update = min(crl.next_update_utc for crl in eid_issuer.crls())
    policy = ValidationPolicy(crl_grace=dt.timedelta(hours=24))
    validate_certificate(
        _der(eid_issuer, "anna"), eid_issuer.trust(), next_update + dt.timedelta(hours=23), policy=policy
    )
    with pytest.raises(Refused) as refused:
        validate_certificate(
            _der(eid_issuer, "anna"), eid_issuer.trust(), next_update + dt.timedelta(hours=24, minutes=1), policy=policy
        )
    assert refused.value.reason is Reason.STALE_TRUST_LIST


def test_a_clock_behind_the_last_known_good_time_is_refused(eid_issuer) -> None:
    """SEC-15: the kiosk once saw a later time (a sign-in, a trust set): a clock set back is not believed."""
    floor = _now() + dt.timedelta(days=2)
    with pytest.raises(Refused) as refused:
        validate_certificate(_der(eid_issuer, "anna"), eid_issuer.trust(), _now(), clock_floor=floor)
    assert refused.value.reason is Reason.CLOCK_BEHIND
    validate_certificate(
        _der(eid_issuer, "anna"), eid_issuer.trust(), _now(), clock_floor=_now() - dt.timedelta(minutes=1)
    )


def test_a_clock_before_the_lists_were_issued_is_refused(eid_issuer) -> None:
    """SEC-15: a revocation list issued "in the future" means the kiosk's clock is behind."""
    with pytest.raises(Refused) as refused:
        validate_certificate(_der(eid_issuer, "anna"), eid_issuer.trust(), _now() - dt.timedelta(days=1))
    assert refused.value.reason is Reason.CLOCK_BEHIND


def test_a_card_not_yet_valid_is_refused_with_its_own_reason(eid_issuer, tmp_path) -> None:
    """SEC-01: a card issued for tomorrow (the lists and the floor allow today)."""
    from provisioning.eid import issue_card

    tomorrow = _now() + dt.timedelta(days=1)
    issue_card(eid_issuer.ca_dir, tmp_path / "early.json", name="Early Bird", pin="123456",
               personnummer="19850412-2386", now=tomorrow)  # fmt: skip
    from protocol.testcard import read_test_card

    der = read_test_card(tmp_path / "early.json").certificate().public_bytes(serialization.Encoding.DER)
    with pytest.raises(Refused) as refused:
        validate_certificate(der, eid_issuer.trust(), _now())
    assert refused.value.reason is Reason.NOT_YET_VALID


def test_bytes_that_are_not_a_certificate_are_not_an_eid(eid_issuer) -> None:
    """SEC-13: the card's certificate object is hostile input too."""
    with pytest.raises(Refused) as refused:
        validate_certificate(b"\x30\x03\x02\x01\x00", eid_issuer.trust(), _now())
    assert refused.value.reason is Reason.NOT_AN_EID


def test_a_certificate_that_names_nobody_is_not_an_eid(eid_issuer, tmp_path) -> None:
    """SEC-01: chained, valid and not revoked, but its subject has no personnummer or employee id."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    from provisioning import pem

    issuing = pem.read_cert(eid_issuer.ca_dir / "issuing.pem")
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Just A Name")]))
        .issuer_name(issuing.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - dt.timedelta(days=1))
        .not_valid_after(_now() + dt.timedelta(days=30))
        .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
        .sign(pem.read_key(eid_issuer.ca_dir / "issuing.key"), hashes.SHA256())
    )
    with pytest.raises(Refused) as refused:
        validate_certificate(certificate.public_bytes(serialization.Encoding.DER), eid_issuer.trust(), _now())
    assert refused.value.reason is Reason.NOT_AN_EID


def test_a_staff_card_names_its_employee_id(eid_issuer) -> None:
    valid = validate_certificate(_der(eid_issuer, "staff"), eid_issuer.trust(), _now())
    assert valid.holder.kind is HolderKind.STAFF
    assert valid.holder.employee_id == "SE2321000255-test01"
    assert valid.holder.given_name == "Karin"
