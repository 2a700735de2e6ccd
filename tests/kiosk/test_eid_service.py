"""The card service: one owner of the reader, the state of the card in it, and nothing kept when it leaves.

The reader is the in-memory `ModelReader`; the store is the kiosk's real SQLite file (SEC-10, SEC-14).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from kiosk.card.reader import ModelReader
from kiosk.eid.service import CardService, Phase, PinOutcome
from kiosk.eid.store import EidStore
from kiosk.models import KioskMeta, OutboxMessage
from kiosk.store import make_engine, make_session_factory, upgrade
from protocol import codec
from protocol.eid_validation import Reason
from tests.support.eid import PIN
from tests.support.pii import find_personnummer
from tests.support.waiting import wait_for


@pytest.fixture
def kiosk_db(tmp_path):
    engine = make_engine(tmp_path / "kiosk.db")
    upgrade(engine, "ange")
    yield engine
    engine.dispose()


@pytest.fixture
def service(eid_issuer, kiosk_db) -> Iterator[tuple[CardService, ModelReader, EidStore]]:
    reader = ModelReader()
    store = EidStore(kiosk_db, device_ca_file=None, outbox_capacity=100)
    card_service = CardService(
        lambda: reader,
        device_id="ange",
        trust=eid_issuer.trust,
        clock_floor=store.clock_floor,
        record=store.record,
    )
    card_service.start()
    yield card_service, reader, store
    card_service.stop()


def phase(card_service: CardService) -> Phase:
    return card_service.state().phase


def outbox_bodies(engine) -> list[dict[str, Any]]:
    with make_session_factory(engine)() as session:
        return [codec.decode(row.body, max_size=65536) for row in session.scalars(select(OutboxMessage))]


def dump(engine) -> list[tuple[Any, ...]]:
    """Every row of every kiosk table, for "storage unchanged" comparisons."""
    with engine.connect() as connection:
        tables = [row[0] for row in connection.exec_driver_sql("SELECT name FROM sqlite_master WHERE type='table'")]
        return [
            (table, *row)
            for table in sorted(tables)
            for row in connection.exec_driver_sql(f'SELECT * FROM "{table}"')  # noqa: S608  # names from sqlite_master
        ]


def test_a_card_moves_from_waiting_to_pin_to_signed_in(service, eid_issuer) -> None:
    card_service, reader, _store = service
    wait_for(lambda: phase(card_service) is Phase.WAITING)
    reader.insert(eid_issuer.model("anna"))
    wait_for(lambda: phase(card_service) is Phase.PIN)
    state = card_service.state()
    assert state.tries_left == 3 and state.insertion == 1
    assert card_service.submit_pin(state.insertion, PIN) is PinOutcome.SIGNED_IN
    visitor = card_service.visitor(state.insertion)
    assert visitor is not None and visitor.given_name == "Anna" and visitor.birth_year == 1985


def test_a_wrong_pin_is_counted_and_shown(service, eid_issuer) -> None:
    card_service, reader, _store = service
    reader.insert(eid_issuer.model("anna"))
    wait_for(lambda: phase(card_service) is Phase.PIN)
    assert card_service.submit_pin(1, "11111111") is PinOutcome.WRONG
    assert card_service.state().tries_left == 2
    assert card_service.submit_pin(1, "12") is PinOutcome.MALFORMED
    assert card_service.state().tries_left == 2


def test_pulling_the_card_ends_the_session_and_forgets_the_person(service, eid_issuer) -> None:
    """SEC-10: signed in, then the card comes out: no visitor any more, back to waiting."""
    card_service, reader, _store = service
    reader.insert(eid_issuer.model("anna"))
    wait_for(lambda: phase(card_service) is Phase.PIN)
    card_service.submit_pin(1, PIN)
    reader.remove()
    wait_for(lambda: phase(card_service) is Phase.WAITING)
    assert card_service.visitor(1) is None
    assert card_service.submit_pin(1, PIN) is PinOutcome.GONE


def test_the_card_pulled_after_every_apdu_leaves_storage_unchanged(service, eid_issuer, kiosk_db) -> None:
    """SEC-10: the card is removed after each APDU of the flow in turn; state returns to start, storage unchanged."""
    card_service, reader, _store = service
    probe = eid_issuer.model("anna")
    reader.insert(probe)
    wait_for(lambda: phase(card_service) is Phase.PIN)
    card_service.submit_pin(card_service.state().insertion, PIN)
    total = reader.apdus
    reader.remove()
    wait_for(lambda: phase(card_service) is Phase.WAITING)
    before = dump(kiosk_db)
    for pull_after in range(1, total):
        reader.pull_after = pull_after
        reader.insert(eid_issuer.model("anna"))
        wait_for(lambda: phase(card_service) in (Phase.PIN, Phase.WAITING))
        state = card_service.state()
        if state.phase is Phase.PIN:
            assert card_service.submit_pin(state.insertion, PIN) is PinOutcome.GONE
        wait_for(lambda: phase(card_service) is Phase.WAITING)
        assert card_service.visitor(state.insertion) is None
        assert dump(kiosk_db) == before, f"pulled after APDU {pull_after}"
    reader.pull_after = None


def test_a_refused_card_leaves_an_audit_record_without_personal_data(service, eid_issuer, kiosk_db) -> None:
    """SEC-01, SEC-14: the outbox gets the reason and the kind of holder, never who."""
    card_service, reader, _store = service
    reader.insert(eid_issuer.model("revoked"))
    wait_for(lambda: phase(card_service) is Phase.REFUSED)
    assert card_service.state().reason is Reason.REVOKED
    bodies = outbox_bodies(kiosk_db)
    assert bodies == [{"event": "signin-refused", "reason": "revoked", "holder_kind": None, "roles": []}]
    assert find_personnummer(repr(dump(kiosk_db))) == []


def test_a_staff_sign_in_is_audited_and_a_resident_sign_in_is_not(service, eid_issuer, kiosk_db) -> None:
    card_service, reader, _store = service
    reader.insert(eid_issuer.model("anna"))
    wait_for(lambda: phase(card_service) is Phase.PIN)
    card_service.submit_pin(card_service.state().insertion, PIN)
    reader.remove()
    wait_for(lambda: phase(card_service) is Phase.WAITING)
    assert outbox_bodies(kiosk_db) == []
    reader.insert(eid_issuer.model("staff"))
    wait_for(lambda: phase(card_service) is Phase.PIN)
    assert card_service.submit_pin(card_service.state().insertion, PIN) is PinOutcome.SIGNED_IN
    assert outbox_bodies(kiosk_db) == [
        {"event": "staff-signed-in", "reason": None, "holder_kind": "staff", "roles": ["registrar", "staff"]}
    ]


def test_ending_the_visit_resets_the_card_and_asks_for_it_to_be_taken(service, eid_issuer) -> None:
    card_service, reader, _store = service
    model = eid_issuer.model("anna")
    reader.insert(model)
    wait_for(lambda: phase(card_service) is Phase.PIN)
    card_service.submit_pin(1, PIN)
    assert model.verified
    card_service.end_visit(1)
    assert phase(card_service) is Phase.FINISHED and card_service.visitor(1) is None
    assert not model.verified  # reset: the PIN it verified is forgotten
    card_service.end_visit(2)  # another card's visit does not touch this one
    reader.remove()
    wait_for(lambda: phase(card_service) is Phase.WAITING)


def test_an_unplugged_reader_is_reported_and_a_card_in_it_forgotten(service, eid_issuer) -> None:
    card_service, reader, _store = service
    reader.insert(eid_issuer.model("anna"))
    wait_for(lambda: phase(card_service) is Phase.PIN)
    reader.unplug()
    wait_for(lambda: phase(card_service) is Phase.NO_READER)
    assert card_service.submit_pin(1, PIN) is PinOutcome.GONE


def test_subscribers_hear_every_change_without_names(service, eid_issuer) -> None:
    card_service, reader, _store = service
    subscription = card_service.subscribe()
    reader.insert(eid_issuer.model("anna"))
    wait_for(lambda: phase(card_service) is Phase.PIN)
    card_service.submit_pin(1, PIN)
    seen = []
    while not subscription.empty():
        seen.append(subscription.get_nowait().public())
    card_service.unsubscribe(subscription)
    assert [s["state"] for s in seen][-3:] == ["reading", "pin", "signed-in"]
    assert all(set(s) == {"state", "card", "tries_left", "reason"} for s in seen)


def test_the_clock_floor_only_moves_forward(kiosk_db) -> None:
    store = EidStore(kiosk_db, device_ca_file=None, outbox_capacity=10)
    later = dt.datetime.now(dt.UTC)
    store.advance_clock_floor(later)
    store.advance_clock_floor(later - dt.timedelta(days=1))
    assert store.clock_floor() == later
    with make_session_factory(kiosk_db)() as session:
        assert session.get(KioskMeta, "clock_floor") is not None
