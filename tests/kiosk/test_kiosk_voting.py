"""Voting at the kiosk as the resident does it, the hub nowhere: the polls and roll the kiosk holds, choosing,
changing and abandoning, casting (the card signs, the ballot is stored with its outbox row), and the receipt
(SEC-06, SEC-07, SEC-08, SEC-11, SEC-14)."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterator

import pysodium
import pytest
from sqlalchemy import select

from kiosk.card.reader import ModelReader
from kiosk.eid.service import Phase
from kiosk.models import OutboxMessage
from kiosk.voting.models import CastBallot
from protocol import codec
from protocol.ballots.ballot import Ballot, short_code
from protocol.ballots.envelope import card_signing_bytes, verify_device_signature
from protocol.ballots.keygen import Ceremony
from protocol.ballots.poll import approval
from protocol.identity import parse_personnummer
from protocol.polls import (
    BALLOT_KIND,
    PollNotice,
    PollRoll,
    PollsSet,
    open_certificate,
    parse_ballot_body,
    roll_key_for,
    roll_to_json,
    voter_pseudonym,
)
from tests.kiosk.pages import csrf_token, text_of
from tests.support.eid import ANNA_PERSONNUMMER, PIN, store_set
from tests.support.elections import run_keygen
from tests.support.pii import find_personnummer
from tests.support.waiting import wait_for

SECRET = b"a hub secret for the roll keys!!"
POLL = "budget-2027"


@pytest.fixture(scope="module")
def seal_keypair() -> tuple[bytes, bytes]:
    return pysodium.crypto_box_keypair()


@pytest.fixture(scope="module")
def notice() -> PollNotice:
    from protocol.ballots import group

    key, _shares = run_keygen(Ceremony(POLL, 2, ("anna", "bo", "cy")), group.random_scalar)
    now = dt.datetime.now(dt.UTC)
    return PollNotice(
        rules=approval(POLL, ("park", "school", "road"), 1, 2),
        key=key,
        title={"sv": "Budget 2027", "en": "Budget 2027"},
        description={"sv": "Vad ska **kommunen** satsa på? [länk](javascript:alert(1))", "en": "What to invest in?"},
        opens_at=int((now - dt.timedelta(days=1)).timestamp() * 1000),
        closes_at=int((now + dt.timedelta(days=7)).timestamp() * 1000),
        roll_key=roll_key_for(SECRET, POLL),
        min_age=16,
        board_url="https://tinget.example/omrostningar/budget-2027/anslagstavla",
        option_labels={"sv": ("Parken", "Skolan", "Vägen"), "en": ("The park", "The school", "The road")},
    )


def anna_pseudonym(notice: PollNotice) -> str:
    return voter_pseudonym(notice.roll_key, parse_personnummer(ANNA_PERSONNUMMER), POLL)


@pytest.fixture
def reader() -> ModelReader:
    return ModelReader()


@pytest.fixture
def voting_app(tmp_path, pki, eid_issuer, reader, notice, seal_keypair) -> Iterator:
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
    store_set(engine, "trust", eid_issuer.trust_content())
    store_set(engine, "polls", PollsSet(seal_keypair[0], (notice,)).to_json())
    store_set(engine, "roll", roll_to_json({POLL: PollRoll(frozenset({anna_pseudonym(notice)}))}))
    service = card_service_for(settings, engine, reader=lambda: reader)
    service.start()
    app = create_app(settings, card_service=service)
    app.config["engine"] = engine
    yield app
    service.stop()
    engine.dispose()


@pytest.fixture
def client(voting_app):
    return voting_app.test_client()


def sign_in(client, reader, model) -> None:
    service = client.application.extensions["tinget.kiosk"].card_service
    reader.insert(model)
    wait_for(lambda: service.state().phase is Phase.PIN)
    token = csrf_token(client, "/signin")
    response = client.post(
        "/signin/pin", data={"csrf_token": token, "card": str(service.state().insertion), "pin": PIN}
    )
    assert response.headers["Location"] == "/welcome"


def choose(client, *indices: int):
    token = csrf_token(client, f"/vote/{POLL}")
    return client.post(f"/vote/{POLL}/choose", data={"csrf_token": token, "option": [str(i) for i in indices]})


def cast(client):
    token = csrf_token(client, f"/vote/{POLL}/review")
    return client.post(f"/vote/{POLL}/cast", data={"csrf_token": token})


def outbox_rows(engine) -> list[OutboxMessage]:
    from kiosk.store import make_session_factory

    with make_session_factory(engine)() as session:
        return list(session.scalars(select(OutboxMessage)))


def test_without_a_card_the_vote_tile_says_how_to_take_part(client) -> None:
    page = text_of(client.get("/vote"))
    assert "Sätt i din e-legitimation för att se vilka omröstningar du kan rösta i." in page


def test_a_resident_on_the_roll_sees_the_poll_and_its_description_safely(client, reader, eid_issuer) -> None:
    sign_in(client, reader, eid_issuer.model("anna"))
    page = text_of(client.get("/vote"))
    assert "Budget 2027" in page and "Du kan rösta." in page
    poll = text_of(client.get(f"/vote/{POLL}"))
    assert "<strong>kommunen</strong>" in poll
    assert "javascript:" not in poll.split('class="poll-description"')[1].split("</div>")[0].replace(
        "[länk](javascript:alert(1))", ""
    )
    assert "Välj 1 till 2 alternativ." in poll and "Parken" in poll and "medborgardialog" in poll


def test_a_resident_not_on_the_roll_cannot_vote(client, reader, eid_issuer) -> None:
    sign_in(client, reader, eid_issuer.model("rut"))
    assert "Du finns inte i röstlängden för den här omröstningen." in text_of(client.get("/vote"))
    assert choose(client, 0).headers["Location"] == f"/vote/{POLL}"


def test_too_many_choices_are_refused_and_nothing_is_stored(client, reader, eid_issuer) -> None:
    sign_in(client, reader, eid_issuer.model("anna"))
    response = choose(client, 0, 1, 2)
    assert "fel=antal" in response.headers["Location"]
    assert "Så många val är inte tillåtna" in text_of(client.get(response.headers["Location"]))
    assert outbox_rows(client.application.config["engine"]) == []


def test_changing_and_abandoning_choices_leave_no_trace(client, reader, eid_issuer) -> None:
    """SEC-07: review, change, review again, then do not vote: the outbox and the kiosk's tables stay empty."""
    sign_in(client, reader, eid_issuer.model("anna"))
    choose(client, 0)
    assert "Parken" in text_of(client.get(f"/vote/{POLL}/review"))
    choose(client, 1, 2)
    review = text_of(client.get(f"/vote/{POLL}/review"))
    assert "Skolan" in review and "Vägen" in review and "Parken" not in review
    token = csrf_token(client, f"/vote/{POLL}/review")
    assert client.post(f"/vote/{POLL}/abandon", data={"csrf_token": token}).headers["Location"] == "/vote"
    engine = client.application.config["engine"]
    assert outbox_rows(engine) == []
    from kiosk.store import make_session_factory

    with make_session_factory(engine)() as session:
        assert list(session.scalars(select(CastBallot))) == []


def test_casting_stores_exactly_the_ballot_the_receipt_names(client, reader, eid_issuer, notice, seal_keypair) -> None:
    """SEC-08: the tracking code on the receipt is the hash of exactly the ballot in the outbox; the envelope
    carries the card's and the kiosk's valid signatures and the certificate only the hub can open (SEC-14)."""
    sign_in(client, reader, eid_issuer.model("anna"))
    choose(client, 1)
    response = cast(client)
    assert response.status_code == 303 and response.headers["Location"] == f"/vote/{POLL}/receipt"
    page = text_of(client.get(f"/vote/{POLL}/receipt"))
    code = re.search(r'id="tracking-code">([A-Z0-9-]+)<', page).group(1)
    assert "Tack – din röst är sparad" in page and 'src="data:image/svg+xml;base64,' in page
    [row] = outbox_rows(client.application.config["engine"])
    assert row.kind == BALLOT_KIND
    body = codec.decode(row.body, max_size=65536)
    envelope, device_certificate = parse_ballot_body(body, notice.rules)
    assert short_code(hashlib.sha256(envelope.ballot.encoded()).hexdigest()) == code
    assert envelope.pseudonym == anna_pseudonym(notice)
    assert verify_device_signature(device_certificate.public_key(), envelope)
    certificate_der = open_certificate(envelope.sealed_certificate, *seal_keypair)
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    card_key = x509.load_der_x509_certificate(certificate_der).public_key()
    card_key.verify(bytes.fromhex(envelope.card_signature), card_signing_bytes(envelope), ec.ECDSA(hashes.SHA256()))
    assert find_personnummer(row.body) == [] and "Anna" not in row.body.decode("latin-1")
    assert Ballot.from_bytes(envelope.ballot.encoded(), notice.rules).tracking_hash == envelope.tracking_hash


def test_after_voting_the_poll_says_a_new_ballot_replaces_the_old(client, reader, eid_issuer) -> None:
    sign_in(client, reader, eid_issuer.model("anna"))
    choose(client, 0)
    cast(client)
    assert "Du har röstat förut – en ny röst ersätter den." in text_of(client.get("/vote"))


def test_a_card_pulled_before_casting_stores_nothing(client, reader, eid_issuer) -> None:
    """SEC-10: the card is pulled on the review page; "Rösta" stores nothing and says so."""
    sign_in(client, reader, eid_issuer.model("anna"))
    choose(client, 0)
    token = csrf_token(client, f"/vote/{POLL}/review")
    reader.remove()
    service = client.application.extensions["tinget.kiosk"].card_service
    wait_for(lambda: service.state().phase is Phase.WAITING)
    response = client.post(f"/vote/{POLL}/cast", data={"csrf_token": token})
    assert response.status_code in (303, 404, 409)
    assert outbox_rows(client.application.config["engine"]) == []
