"""The real PC/SC stack: pcscd with vsmartcard's vpcd readers, the card emulator, pyscard, and OpenSC.

A private pcscd runs for the session (tests/conftest.py `private_pcscd`); the emulator connects to its virtual
readers as a card would. These tests take seconds each: pcscd polls a virtual reader a few times a second.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import time
from collections.abc import Callable, Iterator

import pytest

from kiosk.card.emulator import VirtualCard
from kiosk.card.pcsc import PcscReader
from kiosk.card.piv import PivCard
from kiosk.card.reader import ReaderStatus
from kiosk.eid import signin
from kiosk.eid.service import CardService, Phase, PinOutcome
from kiosk.eid.store import EidStore
from kiosk.store import make_engine, upgrade
from protocol.logs import configure_logging
from tests.support.eid import PIN, store_trust_set
from tests.support.pii import find_personnummer
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.pcsc, pytest.mark.slow]


def snapshot_until(reader: PcscReader, status: ReaderStatus, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        snapshot = reader.wait(0.5)
        if snapshot.status is status:
            return snapshot
    raise AssertionError(f"the reader never showed {status}")


@pytest.fixture
def kiosk_db(tmp_path, eid_issuer):
    engine = make_engine(tmp_path / "kiosk.db")
    upgrade(engine, "ange")
    store_trust_set(engine, eid_issuer.trust_content())
    yield engine
    engine.dispose()


@pytest.fixture
def card_service(private_pcscd, kiosk_db) -> Iterator[CardService]:
    store = EidStore(kiosk_db, device_ca_file=None, outbox_capacity=100)
    service = CardService(
        lambda: PcscReader(private_pcscd.pcscd.reader_name(0)),
        device_id="ange",
        trust=store.trust,
        clock_floor=store.clock_floor,
        record=store.record,
    )
    service.start()
    wait_for(lambda: service.state().phase is Phase.WAITING)
    yield service
    service.stop()


@pytest.fixture
def slot(private_pcscd, eid_issuer) -> Iterator[Callable[[str], VirtualCard]]:
    cards: list[VirtualCard] = []

    def make(name: str) -> VirtualCard:
        card = VirtualCard(eid_issuer.model(name), private_pcscd.pcscd.reader_port(0))
        cards.append(card)
        return card

    yield make
    for card in cards:
        card.remove()


def test_the_reader_sees_a_virtual_card_go_in_and_out(private_pcscd, slot) -> None:
    reader = PcscReader(private_pcscd.pcscd.reader_name(0))
    try:
        assert snapshot_until(reader, ReaderStatus.EMPTY).reader == private_pcscd.pcscd.reader_name(0)
        card = slot("anna")
        card.insert()
        first = snapshot_until(reader, ReaderStatus.PRESENT)
        card.remove()
        snapshot_until(reader, ReaderStatus.EMPTY)
        card.insert()
        assert snapshot_until(reader, ReaderStatus.PRESENT).insertion == first.insertion + 1
    finally:
        reader.close()


def test_a_card_signs_in_through_pcscd_with_a_p256_and_an_rsa_key(private_pcscd, slot, eid_issuer) -> None:
    """The whole PIV exchange through pcscd: SELECT, GET DATA with chaining, VERIFY, GENERAL AUTHENTICATE."""
    for name in ("anna", "rut"):
        reader = PcscReader(private_pcscd.pcscd.reader_name(0))
        card = slot(name)
        card.insert()
        try:
            snapshot_until(reader, ReaderStatus.PRESENT)
            connection = reader.connect()
            piv = PivCard(connection.transmit)
            now = dt.datetime.now(dt.UTC)
            pending = signin.begin(piv, eid_issuer.trust(), now)
            visitor = signin.complete(piv, pending, PIN, device_id="ange", now=now)
            assert visitor.given_name in ("Anna", "Rut")
            connection.close()
            assert not card.model.verified  # closing reset the card: the PIN is forgotten
        finally:
            card.remove()
            snapshot_until(reader, ReaderStatus.EMPTY)
            reader.close()


def test_sign_in_works_offline_and_writes_no_pin_or_personnummer_anywhere(card_service, slot, kiosk_db) -> None:
    """SEC-03, SEC-14 scanner: no hub anywhere, only the trust set the kiosk holds; a wrong PIN, then the right
    one. Afterwards neither the PIN nor a personnummer is in the log output or the kiosk's database file."""
    stream = io.StringIO()
    configure_logging("debug", stream=stream)
    try:
        card = slot("anna")
        card.insert()
        wait_for(lambda: card_service.state().phase is Phase.PIN)
        insertion = card_service.state().insertion
        assert card_service.submit_pin(insertion, "24681357") is PinOutcome.WRONG
        assert card_service.submit_pin(insertion, PIN) is PinOutcome.SIGNED_IN
        assert card_service.visitor(insertion).given_name == "Anna"
        card.remove()
        wait_for(lambda: card_service.state().phase is Phase.WAITING)
    finally:
        logging.getLogger().handlers.clear()
    logs = stream.getvalue()
    assert "card holder signed in" in logs
    database = b"".join(path.read_bytes() for path in kiosk_db.url.database and _db_files(kiosk_db))
    for haystack in (logs, database.decode("latin-1")):
        assert PIN not in haystack and "24681357" not in haystack
        assert find_personnummer(haystack) == []


def _db_files(engine) -> list:
    from pathlib import Path

    base = Path(engine.url.database)
    return [path for path in (base, Path(f"{base}-wal")) if path.exists()]


def test_pulling_the_card_after_every_apdu_leaves_the_kiosk_at_start_and_unchanged(
    card_service, slot, kiosk_db
) -> None:
    """SEC-10 on the real stack: the card is pulled after APDU n of the flow, for every n in turn; the card
    service returns to waiting, nobody is signed in, and the database is byte for byte what it was."""
    probe = slot("anna")
    probe.insert()
    wait_for(lambda: card_service.state().phase is Phase.PIN)
    card_service.submit_pin(card_service.state().insertion, PIN)
    total = probe.apdus
    probe.remove()
    wait_for(lambda: card_service.state().phase is Phase.WAITING)
    before = [path.read_bytes() for path in _db_files(kiosk_db)]
    for pull_after in range(1, total):
        card = slot("anna")
        card.pull_after_apdus = pull_after
        card.insert()
        # Pulled while being read, or read and waiting for the PIN (the pull then comes during VERIFY/SIGN).
        wait_for(lambda card=card: not card.inserted or card_service.state().phase is Phase.PIN)
        state = card_service.state()
        if state.phase is Phase.PIN:
            assert card_service.submit_pin(state.insertion, PIN) is PinOutcome.GONE
        wait_for(lambda card=card: card_service.state().phase is Phase.WAITING and not card.inserted)
        assert card_service.visitor(state.insertion) is None, f"pulled after APDU {pull_after}"
        card.remove()
    assert [path.read_bytes() for path in _db_files(kiosk_db)] == before


def test_the_card_service_recovers_when_pcscd_restarts(card_service, slot, private_pcscd) -> None:
    """pcscd stops (the card service says so), comes back, and the next card signs in as usual."""
    private_pcscd.stop()
    wait_for(lambda: card_service.state().phase is Phase.NO_SERVICE)
    private_pcscd.start()
    wait_for(lambda: card_service.state().phase is Phase.WAITING, timeout=20)
    card = slot("anna")
    card.insert()
    wait_for(lambda: card_service.state().phase is Phase.PIN)
    assert card_service.submit_pin(card_service.state().insertion, PIN) is PinOutcome.SIGNED_IN


@pytest.mark.parametrize("name", ["anna", "rut"])
def test_opensc_reads_the_emulated_card_and_signs_with_it(eid_issuer, tmp_path, name) -> None:
    """The emulator speaks real PIV: OpenSC's own driver lists the certificate and signs after --login, and the
    signature verifies with the card's certificate (`tinget card check`)."""
    from tinget.card import opensc_check

    steps = opensc_check(eid_issuer.card_path(name), tmp_path)
    assert [(step, passed) for step, passed, _output in steps] == [
        ("pkcs15-tool --list-certificates", True),
        ("pkcs11-tool --login --sign", True),
    ], steps


def test_a_signed_in_card_signs_a_ballot_through_pcscd_and_a_swapped_card_cannot(card_service, slot) -> None:
    """The card that signed in signs the ballot in the same PC/SC session (its PIN still verified); once it is
    pulled, no signature comes from the reader for that visit (SEC-10)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    from protocol.eid_validation import Refused

    card = slot("anna")
    card.insert()
    wait_for(lambda: card_service.state().phase is Phase.PIN)
    insertion = card_service.state().insertion
    assert card_service.submit_pin(insertion, PIN) is PinOutcome.SIGNED_IN
    statement = b"the bytes of an envelope"
    signature = card_service.sign(insertion, statement)
    certificate = x509.load_der_x509_certificate(card_service.visitor(insertion).certificate_der)
    certificate.public_key().verify(signature, statement, ec.ECDSA(hashes.SHA256()))
    card.remove()
    wait_for(lambda: card_service.state().phase is Phase.WAITING)
    with pytest.raises(Refused):
        card_service.sign(insertion, statement)
