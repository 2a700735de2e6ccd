"""The registry on the hub's web: the registrar's pages (sign-in, TOTP, CSRF, role), the public pages, open data."""

from __future__ import annotations

import io

import pytest
from flask import Flask
from flask.testing import FlaskClient

from hub.db import unit_of_work
from hub.registry import requests
from hub.staff.roles import Role
from hub.web import records
from tests.hub.helpers import add_member, csrf_token, hub_of, sign_in
from tests.hub.registry_helpers import encrypted_pdf
from tinget.samplepdf import make_pdf


@pytest.fixture
def registrar(app: Flask, client: FlaskClient) -> FlaskClient:
    """A client signed in as a registrar (password and one-time code), reading English."""
    secret = add_member(app, "rut", Role.REGISTRAR)
    sign_in(client, "rut", secret)
    client.get("/?lang=en")
    return client


def register_case(client: FlaskClient, title: str = "Detaljplan för Föllinge centrum") -> str:
    page = client.get("/admin/registry/")
    answer = client.post(
        "/admin/registry/cases",
        data={"board": "KS", "title": title, "opened_on": "2026-03-02", "csrf_token": csrf_token(page.data)},
    )
    assert answer.status_code == 302, answer.data.decode()[-500:]
    return answer.headers["Location"]


def upload(client: FlaskClient, case_url: str, data: bytes, name: str = "beslut.pdf", **fields: str):  # type: ignore[no-untyped-def]
    form = {
        "kind": "decision",
        "title": "Beslut om detaljplan",
        "document_date": "2026-03-04",
        "secrecy": "public",
        "csrf_token": csrf_token(client.get(case_url).data),
        "file": (io.BytesIO(data), name),
        **fields,
    }
    return client.post(case_url, data=form, content_type="multipart/form-data")


def publish_first(client: FlaskClient, case_url: str) -> int:
    page = client.get(case_url).data.decode()
    doc_id = int(page.split('id="document-')[1].split('"')[0])
    answer = client.post(f"/admin/registry/documents/{doc_id}/publish", data={"csrf_token": csrf_token(page)})
    assert answer.status_code == 302
    return doc_id


def test_only_a_signed_in_registrar_reaches_the_registry(app: Flask, client: FlaskClient) -> None:
    """SEC-18: staff pages need sign-in with a second factor, and the role."""
    assert client.get("/admin/registry/").status_code == 302
    secret = add_member(app, "it-person", Role.IT)
    sign_in(client, "it-person", secret)
    assert client.get("/admin/registry/").status_code == 403


def test_a_form_without_its_csrf_token_is_refused(registrar: FlaskClient) -> None:
    """SEC-18: every registry form is protected."""
    answer = registrar.post("/admin/registry/cases", data={"board": "KS", "title": "x", "opened_on": "2026-01-01"})
    assert answer.status_code == 400


def test_a_registrar_registers_publishes_and_a_resident_finds_it_by_a_word_in_the_pdf(registrar: FlaskClient) -> None:
    case_url = register_case(registrar)
    answer = upload(registrar, case_url, make_pdf([["Kommunstyrelsen beslutar att anta detaljplanen för Föllinge."]]))
    assert answer.status_code == 302, answer.data.decode()[-800:]
    assert "KS 2026/1-1" in registrar.get(case_url).data.decode()
    assert "detaljplanen" not in registrar.get("/documents?q=detaljplan").data.decode()
    doc_id = publish_first(registrar, case_url)
    page = registrar.get("/documents?q=detaljplanerna").data.decode()
    assert f"/documents/{doc_id}" in page and "<mark>detaljplanen</mark>" in page
    with registrar.get(f"/documents/{doc_id}/file") as file:
        assert file.status_code == 200 and file.mimetype == "application/pdf" and file.data.startswith(b"%PDF")
    api = registrar.get("/api/v1/documents?q=Föllinge").json
    assert api["documents"][0]["number"] == "KS 2026/1-1"
    assert registrar.get(f"/api/v1/documents/{doc_id}").json["text"].startswith("Kommunstyrelsen")
    feed = registrar.get("/feeds/decisions.atom")
    assert feed.mimetype == "application/atom+xml" and "KS 2026/1-1" in feed.data.decode()


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"%PDF-1.7 broken", "trasig.pdf", "damaged"),
        (encrypted_pdf(make_pdf([["x"]])), "last.pdf", "locked with a password"),
        (b"PK\x03\x04 not really", "beslut.pdf", "is not what its name says"),
    ],
)
def test_a_bad_upload_gets_a_clear_message_and_registers_nothing(registrar, data, name, message) -> None:
    case_url = register_case(registrar)
    answer = upload(registrar, case_url, data, name)
    assert answer.status_code == 400
    assert message in answer.data.decode().replace("&#39;", "'")
    assert "No documents yet." in registrar.get(case_url).data.decode()


def test_an_upload_larger_than_the_limit_is_refused_before_it_is_read(app: Flask, registrar: FlaskClient) -> None:
    """A 2 GB upload is answered 413 from its Content-Length alone, with a page that says so."""
    case_url = register_case(registrar)
    token = csrf_token(registrar.get(case_url).data)
    answer = registrar.post(
        case_url,
        data=b"x" * 100,
        content_type="multipart/form-data; boundary=x",
        environ_overrides={"CONTENT_LENGTH": str(2 * 1024**3)},  # what a browser says before sending 2 GB
        query_string={"csrf_token": token},
    )
    assert answer.status_code == 413
    assert "larger than the hub accepts" in answer.data.decode()


def test_a_secret_document_is_listed_without_its_title_and_can_be_asked_for(app: Flask, registrar) -> None:
    case_url = register_case(registrar, "Individärende")
    upload(
        registrar,
        case_url,
        make_pdf([["Utredning om Kalle"]]),
        title="Utredning om Kalle",
        secrecy="secret",
        osl_paragraph="26 kap. 1 §",
    )
    doc_id = publish_first(registrar, case_url)
    page = registrar.get(f"/documents/{doc_id}").data.decode()
    assert "Kalle" not in page and "26 kap. 1 §" in page
    assert registrar.get(f"/documents/{doc_id}/file").status_code == 404
    assert "Kalle" not in registrar.get(f"/api/v1/documents/{doc_id}").data.decode()
    form = registrar.get(f"/request?document={doc_id}")
    sent = registrar.post(
        f"/request?document={doc_id}",
        data={"description": "Jag vill läsa utredningen", "contact": "", "csrf_token": csrf_token(form.data)},
    )
    assert sent.status_code == 200 and "Your reference is" in sent.data.decode()
    queue = registrar.get("/admin/registry/requests").data.decode()
    assert "Jag vill läsa utredningen" in queue
    with unit_of_work(hub_of(app).sessions, write=False) as db:
        waiting = requests.open_requests(db)
    assert len(waiting) == 1 and waiting[0].document_id == doc_id and waiting[0].contact is None


def test_the_open_data_api_has_a_placeholder_for_poll_results_and_describes_itself(client: FlaskClient) -> None:
    assert client.get("/api/v1/poll-results").json == {"poll_results": []}
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.1") and "/api/v1/documents/{id}" in spec["paths"]
    assert client.get("/api/v1/documents?page=0").status_code == 400
    assert client.get("/api/v1/documents?from=yesterday").json["error"]["message"].startswith("from must be")


def test_a_search_page_link_keeps_the_query_string_as_query_arguments(app: Flask) -> None:
    # Names url_for takes as its own keywords stay in the query string: no 500, no link to another scheme or host.
    query = "q=plan&endpoint=x&_external=1&_scheme=javascript&_anchor=a&_method=POST&page=1"
    with app.test_request_context(f"/documents?{query}"):
        assert records._page_url(2) == "/documents?" + query.replace("page=1", "page=2")
