"""Staff votes (named polls) at the kiosk as a staff member does it, the hub nowhere: the named polls the kiosk
holds, the roles from the staff list, choosing and reviewing with the warning that the vote is public by name,
casting (the card signs the plain ballot, stored with its outbox row), the receipt (D77; SEC-07, SEC-08, SEC-10)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pysodium
import pytest
from sqlalchemy import select

from kiosk.card.model import model_from_file
from kiosk.card.reader import ModelReader
from kiosk.eid.service import Phase
from kiosk.models import OutboxMessage
from kiosk.voting.models import CastBallot
from protocol import codec
from protocol.ballots import named
from protocol.ballots.ballot import short_code
from protocol.ballots.poll import approval, single_choice
from protocol.polls import NAMED_BALLOT_KIND, NamedPollNotice, PollsSet, parse_named_ballot_body
from tests.kiosk.pages import csrf_token, text_of
from tests.support.eid import EMPLOYEE_ID, PIN, signed_staff_list, store_set
from tests.support.named import STAFF, staff_card
from tests.support.waiting import wait_for

POLL = "personalfest"
OTHER = "it-fragan"


def named_notice(poll_id: str, roles: tuple[str, ...], **changes) -> NamedPollNotice:
    now = dt.datetime.now(dt.UTC)
    base = {
        "rules": approval(poll_id, ("lunch", "middag", "utflykt"), 1, 2),
        "title": {"sv": "Personalfest 2027", "en": "Staff party 2027"},
        "description": {"sv": "Vad vill vi **göra**?"},
        "opens_at": int((now - dt.timedelta(days=1)).timestamp() * 1000),
        "closes_at": int((now + dt.timedelta(days=7)).timestamp() * 1000),
        "roles": roles,
        "board_url": f"https://tinget.example/val/{poll_id}",
        "option_labels": {"sv": ("Lunch", "Middag", "Utflykt"), "en": ("Lunch", "Dinner", "Outing")},
    }
    return NamedPollNotice(**{**base, **changes})


@pytest.fixture
def reader() -> ModelReader:
    return ModelReader()


@pytest.fixture
def app(tmp_path, pki, eid_issuer, reader) -> Iterator:
    from kiosk.app import card_service_for, create_app
    from kiosk.settings import load_kiosk_settings
    from kiosk.store import make_engine, upgrade

    device = pki.device("ange")
    settings = load_kiosk_settings(
        device_id="ange",
        office_name="Änge",
        data_dir=tmp_path / "kiosk",
        demo_mode=True,
        mqtt_ca_file=pki.chain,
        mqtt_cert_file=device.cert_file,
        mqtt_key_file=device.key_file,
    )
    engine = make_engine(settings.database)
    upgrade(engine, "ange")
    staff = signed_staff_list(pki, {EMPLOYEE_ID: ["registrar", "staff"], STAFF["olle"][0]: ["it"]}, eid_issuer)
    store_set(engine, "trust", {**eid_issuer.trust_content(), "staff": staff})
    polls = (
        named_notice(POLL, ("staff",)),
        named_notice(OTHER, ("it",), rules=single_choice(OTHER, ("ja", "nej")), option_labels={"sv": ("Ja", "Nej")}),
    )
    store_set(engine, "polls", PollsSet(pysodium.crypto_box_keypair()[0], (), polls).to_json())
    service = card_service_for(settings, engine, reader=lambda: reader)
    service.start()
    app = create_app(settings, card_service=service)
    app.config["engine"] = engine
    yield app
    service.stop()
    engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


def sign_in(client, reader, model) -> None:
    service = client.application.extensions["tinget.kiosk"].card_service
    reader.insert(model)
    wait_for(lambda: service.state().phase is Phase.PIN)
    token = csrf_token(client, "/signin")
    response = client.post(
        "/signin/pin", data={"csrf_token": token, "card": str(service.state().insertion), "pin": PIN}
    )
    assert response.headers["Location"] == "/welcome"


def choose(client, poll_id: str, *indices: int):
    token = csrf_token(client, f"/staff-vote/{poll_id}")
    return client.post(f"/staff-vote/{poll_id}/choose", data={"csrf_token": token, "option": [str(i) for i in indices]})


def cast(client, poll_id: str):
    token = csrf_token(client, f"/staff-vote/{poll_id}/review")
    return client.post(f"/staff-vote/{poll_id}/cast", data={"csrf_token": token})


def outbox_rows(engine) -> list[OutboxMessage]:
    """The named ballots in the outbox (a staff sign-in puts its own card event there, D28)."""
    from kiosk.store import make_session_factory

    with make_session_factory(engine)() as session:
        return list(session.scalars(select(OutboxMessage).where(OutboxMessage.kind == NAMED_BALLOT_KIND)))


def test_staff_see_the_named_polls_of_their_roles_and_residents_none(client, reader, eid_issuer) -> None:
    sign_in(client, reader, eid_issuer.model("staff"))
    assert "Personalomröstningar" in text_of(client.get("/welcome"))
    assert client.get("/vote").headers["Location"] == "/staff-vote"
    page = text_of(client.get("/staff-vote"))
    assert "Personalfest 2027" in page and "Du kan rösta." in page
    assert "Den här omröstningen gäller andra personalroller än dina." in page  # the IT question
    assert "offentlig" in page
    assert client.get(f"/staff-vote/{OTHER}").status_code == 200
    assert choose(client, OTHER, 0).headers["Location"] == f"/staff-vote/{OTHER}"  # no role: no ballot


def test_a_resident_is_sent_to_the_residents_polls(client, reader, eid_issuer) -> None:
    sign_in(client, reader, eid_issuer.model("anna"))
    assert client.get("/staff-vote").headers["Location"] == "/vote"
    assert client.get(f"/staff-vote/{POLL}").status_code == 404


def test_the_screens_say_the_vote_is_public_by_name_before_casting(client, reader, eid_issuer) -> None:
    sign_in(client, reader, eid_issuer.model("staff"))
    poll = text_of(client.get(f"/staff-vote/{POLL}"))
    assert "offentlig med namn" in poll and "<strong>göra</strong>" in poll
    choose(client, POLL, 0, 2)
    review = text_of(client.get(f"/staff-vote/{POLL}/review"))
    assert "Din röst blir offentlig" in review and "Karin Karlsson (SE2321000255-test01)" in review
    assert "Lunch" in review and "Utflykt" in review and "Rösta öppet" in review
    assert outbox_rows(client.application.config["engine"]) == []  # SEC-07: nothing stored yet


def test_changing_and_abandoning_choices_leave_no_trace(client, reader, eid_issuer) -> None:
    sign_in(client, reader, eid_issuer.model("staff"))
    assert "fel=antal" in choose(client, POLL, 0, 1, 2).headers["Location"]
    choose(client, POLL, 1)
    token = csrf_token(client, f"/staff-vote/{POLL}/review")
    response = client.post(f"/staff-vote/{POLL}/abandon", data={"csrf_token": token})
    assert response.headers["Location"] == "/staff-vote"
    assert outbox_rows(client.application.config["engine"]) == []


def test_casting_stores_the_signed_plain_ballot_the_receipt_names(client, reader, eid_issuer) -> None:
    """SEC-08: the receipt's code is the hash of exactly the ballot in the outbox; the card's signature over the
    ballot and the kiosk's over the envelope hold; the certificate names the voter."""
    sign_in(client, reader, eid_issuer.model("staff"))
    choose(client, POLL, 1, 2)
    response = cast(client, POLL)
    assert response.status_code == 303 and response.headers["Location"] == f"/staff-vote/{POLL}/receipt"
    page = text_of(client.get(f"/staff-vote/{POLL}/receipt"))
    code = re.search(r'id="tracking-code">([A-Z0-9-]+)<', page).group(1)
    assert "Tack – din röst är sparad" in page
    [row] = outbox_rows(client.application.config["engine"])
    assert row.kind == NAMED_BALLOT_KIND
    rules = approval(POLL, ("lunch", "middag", "utflykt"), 1, 2)
    envelope, device_certificate = parse_named_ballot_body(codec.decode(row.body, max_size=65536), rules)
    ballot = envelope.ballot
    assert short_code(ballot.tracking_hash) == code
    assert (ballot.employee_id, ballot.chosen, ballot.device_id) == (EMPLOYEE_ID, (1, 2), "ange")
    assert named.verify_device_signature(device_certificate.public_key(), envelope)
    certificate = named.read_certificate(envelope.certificate)
    assert named.card_signature_holds(certificate, ballot, bytes.fromhex(envelope.card_signature))
    from kiosk.store import make_session_factory

    with make_session_factory(client.application.config["engine"])() as session:
        [note] = session.scalars(select(CastBallot))
        assert (note.poll_id, note.pseudonym, note.outbox_id) == (POLL, EMPLOYEE_ID, row.id)
    assert "Du har röstat förut – en ny röst ersätter den." in text_of(client.get("/staff-vote"))


def test_another_staff_member_votes_with_their_own_card(client, reader, eid_issuer) -> None:
    sign_in(client, reader, model_from_file(staff_card(eid_issuer, "olle")))
    page = text_of(client.get("/staff-vote"))
    assert "Den här omröstningen gäller andra personalroller än dina." in page  # the party is for "staff"
    choose(client, OTHER, 1)
    assert cast(client, OTHER).headers["Location"] == f"/staff-vote/{OTHER}/receipt"
    [row] = outbox_rows(client.application.config["engine"])
    body = codec.decode(row.body, max_size=65536)
    assert body["envelope"]["ballot"]["employee"] == STAFF["olle"][0]


def test_a_card_pulled_before_casting_stores_nothing(client, reader, eid_issuer) -> None:
    """SEC-10: the card is pulled on the review page; casting stores nothing."""
    sign_in(client, reader, eid_issuer.model("staff"))
    choose(client, POLL, 0)
    token = csrf_token(client, f"/staff-vote/{POLL}/review")
    reader.remove()
    service = client.application.extensions["tinget.kiosk"].card_service
    wait_for(lambda: service.state().phase is Phase.WAITING)
    response = client.post(f"/staff-vote/{POLL}/cast", data={"csrf_token": token})
    assert response.status_code in (303, 404, 409)
    assert outbox_rows(client.application.config["engine"]) == []
