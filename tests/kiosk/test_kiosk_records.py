"""The public records at the kiosk, against a real hub device API: catalogue chunks, the file cache, search,
the viewer with its QR code, the notice board and requests, also with the hub gone."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from hub.db import make_engine as make_hub_engine
from hub.db import make_session_factory as hub_sessions
from hub.db import unit_of_work
from hub.migrate import upgrade as upgrade_hub
from hub.registry import notices
from hub.sets.publication import announcement, find_latest
from kiosk import outbox, replica
from kiosk.records import cache, catalogue, lookup
from kiosk.records.models import DocumentRow
from kiosk.settings import load_kiosk_settings
from kiosk.store import make_engine, make_session_factory, upgrade
from protocol import codec
from provisioning.pki import PkiLayout
from tests.hub.registry_helpers import register_with_pdf
from tests.hub.test_hub_sets_device_api import DeviceApi, start_device_api
from tests.kiosk.pages import text_of

PUBLIC_URL = "https://tinget.example.se"


@pytest.fixture
def hub(tmp_path: Path, pki: PkiLayout) -> Iterator[tuple[DeviceApi, dict[str, int]]]:
    """A hub with a public PDF, a secret one, one with personal data and a notice; its device API running."""
    folder = tmp_path / "hub"
    folder.mkdir()
    url = f"sqlite:///{folder / 'hub.db'}"
    engine = make_hub_engine(url)
    upgrade_hub(engine)
    from hub.registry.store import FileStore

    store = FileStore(folder / "records")  # the device API's default registry_files_dir: data_dir/records
    with unit_of_work(hub_sessions(engine)) as session:
        public, _ = register_with_pdf(
            session, store, ["Kommunstyrelsen beslutar om älgjakten i Föllinge."], title="Beslut om älgjakt"
        )
        secret, _ = register_with_pdf(
            session, store, ["Kalle Anka utreds"], title="Utredning om Kalle", secrecy="secret", osl="26 kap. 1 §"
        )
        personal, _ = register_with_pdf(
            session,
            store,
            ["Anna Svensson, Storgatan 1"],
            title="Ansökan om bygglov",
            personal_data=True,
            kind="incoming",
        )
        notices.post_notice(
            session,
            title="Protokoll från KS justerat",
            body="Anslaget till 2099.",
            posted_on=dt.date.today(),
            takedown_on=dt.date.today() + dt.timedelta(days=21),
            actor="test",
            public_url=PUBLIC_URL,
        )
    engine.dispose()
    api = start_device_api(folder, pki, url, pki.revoked_file)
    try:
        yield api, {"public": public, "secret": secret, "personal": personal}
    finally:
        api.stop()


@pytest.fixture
def kiosk(tmp_path: Path, pki: PkiLayout, hub):  # type: ignore[no-untyped-def]
    api, _ids = hub
    credential = pki.device("follinge")
    settings = load_kiosk_settings(
        device_id="follinge",
        office_name="Föllinge",
        data_dir=tmp_path / "kiosk",
        hub_url=api.url,
        mqtt_ca_file=pki.chain,
        mqtt_cert_file=credential.cert_file,
        mqtt_key_file=credential.key_file,
        demo_mode=True,
    )
    engine = make_engine(settings.database)
    upgrade(engine, "follinge")
    hub_engine = make_hub_engine(f"sqlite:///{tmp_path / 'hub' / 'hub.db'}")
    with hub_sessions(hub_engine)() as session:
        notice = announcement(find_latest(session, "catalogue"))
    hub_engine.dispose()
    assert replica.on_set_version(engine, settings, notice).status == replica.FetchStatus.UPDATED
    yield settings, engine
    engine.dispose()


def test_the_kiosk_syncs_only_what_may_leave_the_hub_and_finds_a_word_from_inside_a_pdf(kiosk, hub) -> None:
    settings, engine = kiosk
    _api, ids = hub
    report = catalogue.sync(engine, settings)
    assert report.applied == 1 and not report.failed
    fetched, _retry = cache.fill(engine, settings)
    assert fetched == 1  # only the public PDF: the secret one and the one with personal data stay at the hub
    sessions = make_session_factory(engine)
    with sessions() as session:
        rows = {d.id: d for d in session.scalars(select(DocumentRow))}
        assert [h.document.id for h in lookup.search(session, "älgjakt").hits] == [ids["public"]]
        assert lookup.search(session, "Kalle").hits == [] and lookup.search(session, "Storgatan").hits == []
        assert lookup.suggestions(session, "älgj") == ["Beslut om älgjakt"]
        assert cache.is_cached(session, settings, rows[ids["public"]].file_sha256)
    assert rows[ids["secret"]].title == "" and rows[ids["secret"]].file_sha256 is None
    assert rows[ids["personal"]].file_sha256 is None and rows[ids["personal"]].text == ""
    assert catalogue.sync(engine, settings).unchanged == 1  # nothing changed: nothing fetched again


def test_a_chunk_whose_bytes_do_not_match_its_hash_is_refused_and_the_old_one_kept(kiosk, monkeypatch) -> None:
    """SEC-12 for catalogue chunks: the manifest names the hash; other bytes are not applied."""
    settings, engine = kiosk
    from kiosk.records import transfer

    monkeypatch.setattr(transfer.HubLink, "_get", _flip_first_byte(transfer.HubLink._get))
    report = catalogue.sync(engine, settings)
    assert report.applied == 0 and "SHA-256" in report.failed[0]
    with make_session_factory(engine)() as session:
        assert session.scalars(select(DocumentRow)).all() == []


def _flip_first_byte(get):  # type: ignore[no-untyped-def]
    """HubLink._get whose response has its first byte changed on the way (a tampering proxy)."""

    def tampered(self, path):  # type: ignore[no-untyped-def]
        response = get(self, path)
        read, first = response.read, [True]

        def read_flipped(size=-1):  # type: ignore[no-untyped-def]
            block = read(size)
            if first[0] and block:
                first[0] = False
                block = bytes([block[0] ^ 1]) + block[1:]
            return block

        response.read = read_flipped
        return response

    return tampered


def test_a_device_cannot_fetch_a_secret_file_from_the_device_api(hub, tmp_path: Path) -> None:
    """Nothing secret leaves the hub, whatever a device asks for."""
    api, ids = hub
    engine = make_hub_engine(f"sqlite:///{tmp_path / 'hub' / 'hub.db'}")
    from hub.registry.models import Document

    with hub_sessions(engine)() as session:
        hashes = {name: session.get(Document, i).file_sha256 for name, i in ids.items()}
    engine.dispose()
    assert api.get(f"/device/v1/files/{hashes['public']}").status == 200
    assert api.get(f"/device/v1/files/{hashes['secret']}").status == 404
    assert api.get(f"/device/v1/files/{hashes['personal']}").status == 404
    with pytest.raises(OSError):  # without a device certificate the TLS handshake itself fails
        api.get(f"/device/v1/files/{hashes['public']}", device=None)


def test_the_kiosk_ui_searches_shows_pages_and_a_qr_code_and_keeps_working_with_the_hub_gone(kiosk, hub) -> None:
    settings, engine = kiosk
    api, ids = hub
    catalogue.sync(engine, settings)
    cache.fill(engine, settings)
    api.stop()  # the hub is gone from here on
    from kiosk.app import create_app

    client = create_app(settings).test_client()
    page = text_of(client.get("/documents?q=älgjakten"))
    assert f"/documents/{ids['public']}" in page and "<mark>älgjakten</mark>" in page
    viewer = text_of(client.get(f"/documents/{ids['public']}"))
    assert f"/documents/{ids['public']}/page/1.png" in viewer
    assert 'class="qr"' in viewer and f'data-link="{PUBLIC_URL}/documents/{ids["public"]}"' in viewer
    image = client.get(f"/documents/{ids['public']}/page/1.png?zoom=2.0")
    assert image.status_code == 200 and image.data.startswith(b"\x89PNG")
    secret = text_of(client.get(f"/documents/{ids['secret']}"))
    assert "Kalle" not in secret and "26 kap. 1 §" in secret and f"/request?document={ids['secret']}" in secret
    board = text_of(client.get("/notice-board"))
    assert "Protokoll från KS justerat" in board


def test_a_file_the_cache_does_not_hold_is_said_to_be_missing_and_becomes_wanted(kiosk, hub) -> None:
    settings, engine = kiosk
    _api, ids = hub
    catalogue.sync(engine, settings)  # no cache.fill: the file is not here
    from kiosk.app import create_app

    page = text_of(create_app(settings).test_client().get(f"/documents/{ids['public']}"))
    assert "inte i kiosken" in page or "not on this kiosk" in page
    with make_session_factory(engine)() as session:
        keep, _evict = cache.plan(session, settings.records_cache_bytes)
        assert keep and keep[0][0] == session.get(DocumentRow, ids["public"]).file_sha256


def test_asking_for_a_secret_document_stores_an_anonymous_request_in_the_outbox(kiosk, hub) -> None:
    settings, engine = kiosk
    _api, ids = hub
    catalogue.sync(engine, settings)
    from kiosk.app import create_app
    from tests.kiosk.pages import csrf_token

    client = create_app(settings).test_client()
    token = csrf_token(client, f"/request?document={ids['secret']}")
    answer = client.post("/request", data={"csrf_token": token, "document": ids["secret"], "description": "Tack"})
    reference = re.search(r"[A-Z0-9]{4}-[A-Z0-9]{4}", text_of(answer))
    assert answer.status_code == 200 and reference
    with make_session_factory(engine)() as session:
        (row,) = outbox.pending(session)
    body = codec.decode(row.body, max_size=10_000)
    assert row.kind == "document-request"
    assert body == {
        "reference": reference.group(0),
        "document_id": ids["secret"],
        "case_number": body["case_number"],
        "description": "Tack",
    }


def test_a_request_holding_a_personnummer_is_refused_and_nothing_is_stored(kiosk, hub) -> None:
    """SEC-14: a personnummer never enters the kiosk's database or an MQTT payload, even one typed by a resident."""
    settings, engine = kiosk
    from kiosk.app import create_app
    from tests.kiosk.pages import csrf_token
    from tests.support.pii import find_personnummer

    client = create_app(settings).test_client()
    token = csrf_token(client, "/request")
    typed = "Mitt personnummer är 19121212-1212"
    answer = client.post("/request", data={"csrf_token": token, "description": typed})
    assert answer.status_code == 400 and "1212" not in text_of(answer)
    with make_session_factory(engine)() as session:
        assert outbox.pending(session) == []
    assert find_personnummer(settings.database.read_bytes()) == []
