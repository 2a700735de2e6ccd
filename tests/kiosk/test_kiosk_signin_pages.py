"""Signing in on the kiosk's screens, as the browser sees them: the card in a (model) reader, the trust set in the
kiosk's database as the sync agent leaves it, the staff list signed by the hub's key."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kiosk.card.reader import ModelReader
from kiosk.eid.service import Phase
from kiosk.web.signin import REFUSALS
from protocol.eid_validation import Reason
from tests.kiosk.pages import csrf_token, text_of
from tests.support.eid import EMPLOYEE_ID, PIN, signed_staff_list, store_trust_set
from tests.support.pii import find_personnummer
from tests.support.waiting import wait_for


@pytest.fixture
def reader() -> ModelReader:
    return ModelReader()


@pytest.fixture
def signin_app(tmp_path, pki, eid_issuer, reader) -> Iterator:
    from kiosk.app import card_service_for, create_app
    from kiosk.settings import load_kiosk_settings
    from kiosk.store import make_engine, upgrade

    settings = load_kiosk_settings(
        device_id="ange", office_name="Änge", data_dir=tmp_path / "kiosk", demo_mode=True, mqtt_ca_file=pki.chain
    )
    engine = make_engine(settings.database)
    upgrade(engine, "ange")
    staff = signed_staff_list(pki, {EMPLOYEE_ID: ["registrar", "staff"]}, eid_issuer)
    content = {**eid_issuer.trust_content(), "staff": staff}
    store_trust_set(engine, content)
    service = card_service_for(settings, engine, reader=lambda: reader)
    service.start()
    app = create_app(settings, card_service=service)
    yield app
    service.stop()
    engine.dispose()


@pytest.fixture
def client(signin_app):
    return signin_app.test_client()


def insert(reader: ModelReader, client, model, phase: Phase = Phase.PIN) -> None:
    reader.insert(model)
    service = client.application.extensions["tinget.kiosk"].card_service
    wait_for(lambda: service.state().phase is phase)


def submit_pin(client, pin: str, card: int = 1):
    token = csrf_token(client, "/signin")
    return client.post("/signin/pin", data={"csrf_token": token, "card": str(card), "pin": pin})


def test_a_card_in_the_reader_brings_the_pin_keypad(client, reader, eid_issuer) -> None:
    assert "Sätt i ditt e-legitimationskort" in text_of(client.get("/"))
    insert(reader, client, eid_issuer.model("anna"))
    page = text_of(client.get("/signin"))
    assert "Skriv din PIN-kod" in page
    assert 'type="password"' in page and 'class="keypad"' in page


def test_the_right_pin_welcomes_the_resident_by_name_and_birth_year_only(client, reader, eid_issuer) -> None:
    """SEC-14: "Välkommen, Anna (1985)" — no personnummer on the page."""
    insert(reader, client, eid_issuer.model("anna"))
    response = submit_pin(client, PIN)
    assert response.status_code == 303 and response.headers["Location"] == "/welcome"
    page = text_of(client.get("/welcome"))
    assert "Välkommen, Anna (1985)" in page
    assert "Inloggad: Anna (1985)" in page and "Logga ut" in page
    assert find_personnummer(page) == []


def test_a_wrong_pin_shows_the_tries_left(client, reader, eid_issuer) -> None:
    """SEC-03: the screen says how many tries remain; the PIN is not echoed back."""
    insert(reader, client, eid_issuer.model("anna"))
    response = submit_pin(client, "11112222")
    assert response.headers["Location"] == "/signin"
    page = text_of(client.get("/signin"))
    assert "Fel PIN-kod. 2 försök kvar innan kortet spärras." in page
    assert "11112222" not in page


def test_the_pin_form_needs_its_csrf_token(client, reader, eid_issuer) -> None:
    """SEC-18 on the kiosk: a PIN posted without the page's token is refused and never reaches the card."""
    model = eid_issuer.model("anna")
    insert(reader, client, model)
    response = client.post("/signin/pin", data={"card": "1", "pin": "11112222"})
    assert response.status_code == 400
    assert model.tries_left == 3


def test_a_pulled_card_signs_the_visit_out_at_the_next_request(client, reader, eid_issuer) -> None:
    """SEC-10: whatever the page does, the server ends the signed-in visit once the card is out."""
    insert(reader, client, eid_issuer.model("anna"))
    submit_pin(client, PIN)
    reader.remove()
    service = client.application.extensions["tinget.kiosk"].card_service
    wait_for(lambda: service.state().phase is Phase.WAITING)
    response = client.get("/welcome")
    assert response.status_code == 303 and response.headers["Location"] == "/"
    assert "Inloggad" not in text_of(client.get("/"))


def test_a_revoked_card_is_refused_with_its_own_message(client, reader, eid_issuer) -> None:
    insert(reader, client, eid_issuer.model("revoked"), Phase.REFUSED)
    page = text_of(client.get("/signin"))
    assert "Kortet är spärrat" in page
    assert "Ta ut kortet ur läsaren" in page


def test_the_refusal_is_shown_in_english_on_request(client, reader, eid_issuer) -> None:
    insert(reader, client, eid_issuer.model("expired"), Phase.REFUSED)
    token = csrf_token(client, "/signin")
    client.post("/lang/en", data={"csrf_token": token, "next": "/signin"})
    assert "The card has expired" in text_of(client.get("/signin"))


def test_every_refusal_reason_has_its_own_message() -> None:
    """SEC-01: no reason falls back to a generic text."""
    assert set(REFUSALS) == set(Reason)
    assert len({str(title) + str(text) for title, text in REFUSALS.values()}) == len(Reason)


def test_a_staff_card_signs_in_as_staff_with_its_roles(client, reader, eid_issuer) -> None:
    insert(reader, client, eid_issuer.model("staff"))
    submit_pin(client, PIN)
    page = text_of(client.get("/welcome"))
    assert "Inloggad som personal" in page
    assert "Roll: registrator, personal" in page


def test_signing_out_with_the_card_in_asks_for_the_card(client, reader, eid_issuer) -> None:
    insert(reader, client, eid_issuer.model("anna"))
    submit_pin(client, PIN)
    token = csrf_token(client, "/welcome")
    response = client.post("/session/end", data={"csrf_token": token, "card": "1"})
    assert response.headers["Location"] == "/"
    page = text_of(client.get("/"))
    assert "Glöm inte ditt kort" in page
    assert client.get("/welcome").status_code == 303


def test_the_card_events_stream_says_what_the_reader_holds_and_nothing_more(client, reader, eid_issuer) -> None:
    insert(reader, client, eid_issuer.model("anna"))
    response = client.get("/card/events", buffered=False)
    assert response.mimetype == "text/event-stream"
    chunks = response.response
    first = next(chunks) + next(chunks)
    response.close()
    text = first.decode() if isinstance(first, bytes) else first
    assert 'event: card\ndata: {"state": "pin", "card": 1, "tries_left": 3, "reason": null}' in text
    assert "Anna" not in text


def test_the_demo_card_panel_only_shows_in_demo_mode_with_a_virtual_reader(client, tmp_path, eid_issuer) -> None:
    assert "Demo: testkort" not in text_of(client.get("/"))
    import shutil

    from kiosk.app import create_app
    from kiosk.settings import load_kiosk_settings
    from kiosk.store import make_engine, upgrade

    cards = tmp_path / "cards"
    cards.mkdir()
    shutil.copy(eid_issuer.card_path("anna"), cards / "anna.json")
    settings = load_kiosk_settings(
        device_id="ange",
        office_name="Änge",
        data_dir=tmp_path / "demo",
        demo_mode=True,
        demo_vpcd_port=40000,
        demo_cards_dir=cards,
    )
    engine = make_engine(settings.database)
    upgrade(engine, "ange")
    engine.dispose()
    page = text_of(create_app(settings).test_client().get("/"))
    assert "Demo: testkort" in page and 'data-card="anna"' in page
    production = load_kiosk_settings(
        device_id="ange", office_name="Änge", data_dir=tmp_path / "prod", demo_vpcd_port=40000, demo_cards_dir=cards
    )
    with pytest.raises(Exception, match="secret"):
        create_app(production)  # production refuses to start without its secret key: the panel cannot appear
