"""The e-ID checks against hostile or merely odd input: malformed certificates, delta and partial revocation
lists, staff cards from the wrong issuer, a failing store, a slow card (SEC-01, SEC-13, SEC-14, SEC-15)."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.exc import OperationalError

from kiosk.card import CardError
from kiosk.card.reader import ModelReader
from kiosk.eid.service import CardService, Phase
from kiosk.eid.store import EidStore
from kiosk.store import make_engine, upgrade
from protocol.eid_validation import Reason, Refused, validate_certificate
from provisioning import pem
from tests.support.eid import ANNA_PERSONNUMMER, EMPLOYEE_ID, PIN, make_crl, make_issuer, store_trust_set
from tests.support.pii import find_personnummer
from tests.support.waiting import wait_for


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def der(issuer, name: str) -> bytes:
    return issuer.card(name).certificate().public_bytes(serialization.Encoding.DER)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_mangled_certificate_is_refused_and_nothing_else_escapes(eid_issuer, data) -> None:
    """SEC-13: bytes flipped, cut or inserted anywhere in a card's certificate end in `Refused`, never in another
    exception (which would stop the card service)."""
    original = bytearray(der(eid_issuer, "anna"))
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(original) - 1))
        action = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        if action == "flip":
            original[position] ^= data.draw(st.integers(1, 255))
        elif action == "cut":
            del original[position : position + data.draw(st.integers(1, 40))]
        else:
            original[position:position] = data.draw(st.binary(min_size=1, max_size=8))
        if not original:
            original = bytearray(b"\x30")
    with contextlib.suppress(Refused):
        validate_certificate(bytes(original), eid_issuer.trust(), now())


def test_a_certificate_version_the_parser_rejects_is_not_an_e_id(eid_issuer) -> None:
    """SEC-13: an invalid version byte raises `InvalidVersion` in `cryptography`, which is not a ValueError."""
    certificate = bytearray(der(eid_issuer, "anna"))
    position = certificate.find(b"\xa0\x03\x02\x01\x02")  # [0] { INTEGER 2 }: v3
    certificate[position + 4] = 0x05
    with pytest.raises(Refused) as refused:
        validate_certificate(bytes(certificate), eid_issuer.trust(), now())
    assert refused.value.reason is Reason.NOT_AN_EID


def test_a_refusal_never_carries_the_name_or_the_personnummer(eid_issuer) -> None:
    """SEC-14: a card with an unknown critical extension makes the verifier describe the certificate; the
    refusal (which is logged) keeps neither the name nor the digits."""
    issuing = pem.read_cert(eid_issuer.ca_dir / "issuing.pem")
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.SERIAL_NUMBER, ANNA_PERSONNUMMER.replace("-", "")),
            x509.NameAttribute(NameOID.COMMON_NAME, "Karl-Johan Lindqvist B"),
        ]
    )
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuing.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now() - dt.timedelta(days=1))
        .not_valid_after(now() + dt.timedelta(days=30))
        .add_extension(x509.UnrecognizedExtension(x509.ObjectIdentifier("1.2.3.4"), b"\x05\x00"), critical=True)
        .sign(pem.read_key(eid_issuer.ca_dir / "issuing.key"), hashes.SHA256())
    )
    with pytest.raises(Refused) as refused:
        validate_certificate(certificate.public_bytes(serialization.Encoding.DER), eid_issuer.trust(), now())
    text = f"{refused.value} {refused.value.detail}"
    assert "Lindqvist" not in text and "19850412" not in text and "850412" not in text
    assert find_personnummer(text) == []


def test_a_delta_or_partial_list_does_not_stand_in_for_the_complete_one(eid_issuer) -> None:
    """SEC-01: the complete list revokes Bertil's card; a newer delta (or partial) list that does not name him
    must not make the kiosk forget it, and without a complete list there is no list at all."""
    trust = eid_issuer.trust()
    for kind in ({"delta": True}, {"partial": True}):
        newer = make_crl(eid_issuer, **kind)
        with_newer = dataclasses.replace(trust, crls=(*trust.crls, newer))
        with pytest.raises(Refused) as refused:
            validate_certificate(der(eid_issuer, "revoked"), with_newer, now())
        assert refused.value.reason is Reason.REVOKED, kind
        root_lists = tuple(crl for crl in trust.crls if crl.issuer != newer.issuer)
        only_partial = dataclasses.replace(trust, crls=(*root_lists, newer))
        with pytest.raises(Refused) as refused:
            validate_certificate(der(eid_issuer, "anna"), only_partial, now())
        assert refused.value.reason is Reason.NO_TRUST_LIST, kind


def test_another_issuers_list_from_the_future_does_not_stop_this_issuers_cards(eid_issuer, tmp_path) -> None:
    """SEC-15 scope: only the card's own issuer's list tells whether the kiosk's clock is behind."""
    other = make_issuer(tmp_path / "other", now=now() + dt.timedelta(days=3))
    trust = eid_issuer.trust()
    mixed = dataclasses.replace(trust, roots=(*trust.roots, *other.trust().roots), crls=(*trust.crls, *other.crls()))
    assert validate_certificate(der(eid_issuer, "anna"), mixed, now()).holder.given_name == "Anna"


def test_a_staff_card_counts_only_from_an_issuer_of_staff_cards_and_only_while_the_list_is_current(
    eid_issuer, tmp_path
) -> None:
    """An employee id is a string: a card from another trusted issuer with the same id gets no roles, and an
    expired staff list gives none at all."""
    from kiosk.card.piv import PivCard
    from kiosk.eid import signin

    other = make_issuer(tmp_path / "other")  # also issues a card for EMPLOYEE_ID ("staff")
    trust = eid_issuer.trust()
    both = dataclasses.replace(
        trust,
        roots=(*trust.roots, *other.trust().roots),
        intermediates=(*trust.intermediates, *other.trust().intermediates),
        crls=(*trust.crls, *other.crls()),
    )
    assert signin.begin(PivCard(eid_issuer.model("staff").transmit), both, now()).roles == ("registrar", "staff")
    with pytest.raises(Refused) as refused:
        signin.begin(PivCard(other.model("staff").transmit), both, now())
    assert refused.value.reason is Reason.STAFF_UNKNOWN
    expired = dataclasses.replace(both, staff_expires_at=now() - dt.timedelta(minutes=1))
    with pytest.raises(Refused) as refused:
        signin.begin(PivCard(eid_issuer.model("staff").transmit), expired, now())
    assert refused.value.reason is Reason.STAFF_UNKNOWN
    assert EMPLOYEE_ID in trust.staff_roles


class FailingReader(ModelReader):
    """A reader whose card cannot be opened (a protocol the reader cannot speak, another program holding it)."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    def connect(self):
        if self.failures:
            self.failures -= 1
            raise CardError("The card could not be opened (Card protocol mismatch.).")
        return super().connect()


def _service(reader, trust, tmp_path) -> CardService:
    engine = make_engine(tmp_path / "kiosk.db")
    upgrade(engine, "ange")
    store = EidStore(engine, device_ca_file=None, outbox_capacity=100)
    return CardService(
        lambda: reader, device_id="ange", trust=trust, clock_floor=store.clock_floor, record=store.record
    )


def test_a_card_that_cannot_be_opened_is_refused_and_the_next_one_works(eid_issuer, tmp_path) -> None:
    """SEC-13: the card service lives on through any card; a card it cannot open is refused as unreadable."""
    reader = FailingReader(failures=1)
    service = _service(reader, eid_issuer.trust, tmp_path)
    service.start()
    try:
        reader.insert(eid_issuer.model("anna"))
        wait_for(lambda: service.state().phase is Phase.REFUSED)
        assert service.state().reason is Reason.UNREADABLE and service.alive
        reader.remove()
        wait_for(lambda: service.state().phase is Phase.WAITING)
        reader.insert(eid_issuer.model("anna"))
        wait_for(lambda: service.state().phase is Phase.PIN)
    finally:
        service.stop()


def test_a_failing_store_refuses_the_card_and_keeps_the_service_alive(eid_issuer, tmp_path) -> None:
    """SEC-13: a database error while the trust is read fails closed (no list), never kills the watcher."""
    calls = {"n": 0}

    def trust():
        calls["n"] += 1
        if calls["n"] == 1:
            raise OperationalError("SELECT", {}, Exception("disk I/O error"))
        return eid_issuer.trust()

    reader = ModelReader()
    service = _service(reader, trust, tmp_path)
    service.start()
    try:
        reader.insert(eid_issuer.model("anna"))
        wait_for(lambda: service.state().phase is Phase.REFUSED)
        assert service.state().reason is Reason.NO_TRUST_LIST and service.alive
        reader.remove()
        reader.insert(eid_issuer.model("anna"))
        wait_for(lambda: service.state().phase is Phase.PIN)
        assert service.submit_pin(service.state().insertion, PIN).value == "signed-in"
    finally:
        service.stop()


def test_pages_read_the_state_without_waiting_for_the_card(eid_issuer, tmp_path) -> None:
    """A slow card (seconds per command) must not freeze every page: reading the state never takes the card's
    lock. Here the card's lock is held by another thread while a page asks for the state."""
    reader = ModelReader()
    service = _service(reader, eid_issuer.trust, tmp_path)
    answered = threading.Event()
    with service._card_lock:  # stands in for a card in the middle of a slow exchange
        page = threading.Thread(target=lambda: (service.state(), service.visitor(1), answered.set()))
        page.start()
        page.join(timeout=10)
    assert answered.is_set()


def test_the_clock_floor_moves_only_with_an_issuers_signed_time(eid_issuer, tmp_path) -> None:
    """SEC-15: the floor comes from the newest signed list's issue time, not from the kiosk's own clock (which
    may have run ahead) and not from a list that claims to come from the future."""
    engine = make_engine(tmp_path / "kiosk.db")
    upgrade(engine, "ange")
    store_trust_set(engine, eid_issuer.trust_content())
    store = EidStore(engine, device_ca_file=None, outbox_capacity=10)
    store.trust()
    newest = max(crl.last_update_utc for crl in eid_issuer.crls())
    assert store.clock_floor() == newest
    engine.dispose()


def test_a_request_for_another_host_name_is_refused(client) -> None:
    """A page elsewhere that rebinds its name to 127.0.0.1 cannot reach the kiosk's forms."""
    assert client.get("/", headers={"Host": "evil.example"}).status_code == 400
    assert client.get("/", headers={"Host": "127.0.0.1:8080"}).status_code == 200
