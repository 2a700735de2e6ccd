"""Public pages, languages, error pages and /healthz, as a visitor sees them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from hub.app import create_app
from hub.settings import HubSettings, load_hub_settings
from tests.hub.helpers import closed_port, post_form, write_secret


def test_the_start_page_is_in_swedish(client: FlaskClient) -> None:
    """Swedish first: the start page names the municipality and links onwards."""
    response = client.get("/")
    text = response.data.decode()
    assert response.status_code == 200
    assert '<html lang="sv">' in text
    assert "<h1>Tinget – Krokoms kommun</h1>" in text
    assert "Inloggning för personal" in text and 'href="/api/v1/"' in text


def test_lang_en_switches_to_english_and_is_remembered(client: FlaskClient) -> None:
    """?lang=en switches every page to English until ?lang=sv."""
    text = client.get("/?lang=en").data.decode()
    assert '<html lang="en">' in text and "Tinget – Krokom Municipality" in text
    assert "Staff sign-in" in client.get("/admin/signin").data.decode()
    assert "Page not found" in client.get("/nowhere").data.decode()
    assert "Krokoms kommun" in client.get("/?lang=sv").data.decode()


def test_an_unknown_language_falls_back_to_swedish(client: FlaskClient) -> None:
    """A language we have no catalog for is ignored."""
    assert '<html lang="sv">' in client.get("/?lang=xx").data.decode()


def test_a_missing_page_is_a_clear_swedish_page(client: FlaskClient) -> None:
    """404 in Swedish, with a way back."""
    response = client.get("/finns-inte")
    assert response.status_code == 404
    text = response.data.decode()
    assert "Sidan finns inte" in text and "Till startsidan" in text


def test_the_api_answers_json_even_for_errors(client: FlaskClient) -> None:
    """/api/v1/ is JSON; so are its errors."""
    index = client.get("/api/v1/")
    assert index.status_code == 200 and index.json["name"] == "Tinget" and index.json["api_version"] == 1
    assert index.json["resources"]["openapi"] == "/api/v1/openapi.json"
    missing = client.get("/api/v1/nothing")
    assert missing.status_code == 404 and missing.json["error"]["status"] == 404


def test_an_unexpected_error_shows_a_page_without_a_stack_trace(settings: HubSettings) -> None:
    """SEC-20: a bug gives a Swedish 500 page; the details go to the log only."""
    app = create_app(settings)

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("secret internals")

    response = app.test_client().get("/boom")
    text = response.data.decode()
    assert response.status_code == 500
    assert "Något gick fel" in text and "secret internals" not in text and "Traceback" not in text
    app.extensions["tinget_hub"].engine.dispose()


def test_healthz_reports_the_database_and_a_broker_that_does_not_listen(
    hub_db_url: str, tmp_path: Path, pki: Any
) -> None:
    """/healthz: the database answers; nothing listens on the broker port, and it says so."""
    settings = load_hub_settings(
        None,
        database_url=hub_db_url,
        data_dir=tmp_path,
        secret_key_file=write_secret(tmp_path / "secret_key"),
        mqtt_port=closed_port(),
        mqtt_ca_file=pki.chain,
        mqtt_cert_file=pki.hub_client.cert_file,
        mqtt_key_file=pki.hub_client.key_file,
    )
    app = create_app(settings)
    response = app.test_client().get("/healthz")
    app.extensions["tinget_hub"].engine.dispose()
    assert response.status_code == 200
    body = response.json
    assert body["status"] == "degraded"
    assert body["database"]["ok"] is True
    assert body["broker"]["ok"] is False and "not reachable" in body["broker"]["detail"]


@pytest.mark.broker
def test_healthz_is_ok_when_the_broker_accepts_the_hub(hub_db_url: str, tmp_path: Path, mosquitto: Any) -> None:
    """/healthz: with the real broker running and the hub's certificate, everything is ok."""
    settings = load_hub_settings(
        None,
        database_url=hub_db_url,
        data_dir=tmp_path,
        secret_key_file=write_secret(tmp_path / "secret_key"),
        mqtt_host=mosquitto.host,
        mqtt_port=mosquitto.port,
        mqtt_ca_file=mosquitto.ca_file,
        mqtt_cert_file=mosquitto.hub.cert_file,
        mqtt_key_file=mosquitto.hub.key_file,
    )
    app = create_app(settings)
    body = app.test_client().get("/healthz").json
    app.extensions["tinget_hub"].engine.dispose()
    assert body["status"] == "ok", body
    assert body["broker"]["ok"] is True and body["database"]["ok"] is True


def test_healthz_without_broker_certificates_says_what_is_missing(client: FlaskClient) -> None:
    """No certificate configured: the broker is reported down with the settings to fill in."""
    body = client.get("/healthz").json
    assert body["broker"] == {
        "ok": False,
        "detail": "the hub has no broker certificate configured (mqtt_ca_file, mqtt_cert_file, mqtt_key_file)",
    }


@pytest.fixture
def app_on_a_dead_database(tmp_path: Path) -> Callable[[], FlaskClient]:
    settings = load_hub_settings(
        None,
        database_url=f"postgresql://postgres@127.0.0.1:{closed_port()}/tinget",
        data_dir=tmp_path,
        secret_key_file=write_secret(tmp_path / "secret_key"),
    )
    return lambda: create_app(settings).test_client()


def test_a_database_that_does_not_answer_gives_a_503_page_in_swedish(
    app_on_a_dead_database: Callable[[], FlaskClient],
) -> None:
    """The hub starts, and pages that need the database say it is away, with no stack trace."""
    client = app_on_a_dead_database()
    assert client.get("/").status_code == 200  # the start page needs no database
    response = post_form(client, "/admin/signin", {"username": "anna", "password": "ett lösenord här"})
    text = response.data.decode()
    assert response.status_code == 503
    assert "Databasen svarar inte just nu." in text and "Traceback" not in text and "psycopg" not in text
    health = client.get("/healthz")
    assert health.status_code == 503 and health.json["database"] == {
        "ok": False,
        "detail": "the database does not answer",
    }
