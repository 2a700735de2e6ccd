"""``/healthz``: what the browser watchdog and IT see."""

from __future__ import annotations

from importlib.metadata import version


def test_healthz_reports_database_outbox_device_and_version(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ok",
        "database": "ok",
        "outbox_depth": 0,
        "device_id": "ange",
        "version": version("tinget"),
        "card_service": "not-started",
        "card_reader": "no-service",
    }


def test_healthz_says_503_when_the_database_is_unusable(app, client, kiosk_settings):
    from kiosk.web import runtime

    with app.app_context():
        runtime().engine.dispose()
    kiosk_settings.database.unlink()
    kiosk_settings.database.mkdir()  # a folder where the file should be: SQLite cannot open it
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["database"] == "unavailable"
    assert body["status"] == "degraded"
    assert body["device_id"] == "ange"
