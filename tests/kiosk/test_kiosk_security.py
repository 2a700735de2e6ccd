"""Security headers, cookies and CSRF on the kiosk UI (SEC-18)."""

from __future__ import annotations

import pytest

from tests.kiosk.pages import csrf_token

POSTS = ("/lang/en", "/text-size/large", "/session/keepalive")


@pytest.mark.parametrize("path", ["/", "/service/staff", "/healthz", "/no-such-page"])
def test_every_response_carries_the_security_headers(client, path):
    """SEC-18: CSP without inline code, no framing, no referrer, nothing cached."""
    response = client.get(path)
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp
    assert "style-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"


def test_static_files_carry_the_headers_but_may_be_cached(client):
    response = client.get("/static/idle.js")
    assert response.status_code == 200
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers.get("Cache-Control") != "no-store"
    response.close()


def test_the_visit_cookie_is_http_only_and_same_site_strict(client):
    """SEC-18."""
    cookie = client.get("/").headers["Set-Cookie"]
    assert cookie.startswith("kiosk_visit=")
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie


@pytest.mark.parametrize("path", POSTS)
def test_posts_without_a_csrf_token_are_refused(client, path):
    """SEC-18: every form has CSRF protection."""
    client.get("/")
    response = client.post(path, data={"next": "/"})
    assert response.status_code in (400, 409)
    assert client.post(path, data={"next": "/", "csrf_token": "forged"}).status_code in (400, 409)


@pytest.mark.parametrize("path", POSTS)
def test_posts_with_the_page_token_are_accepted(client, path):
    token = csrf_token(client)
    response = client.post(path, data={"next": "/", "csrf_token": token})
    assert response.status_code in (200, 303)


def test_a_foreign_token_from_another_visit_is_refused(app):
    """SEC-18: a token is bound to its own visit."""
    first, second = app.test_client(), app.test_client()
    token = csrf_token(first)
    csrf_token(second)
    assert second.post("/lang/en", data={"csrf_token": token, "next": "/"}).status_code == 400


def test_the_app_refuses_to_start_without_its_session_key_outside_demo_mode(kiosk_settings):
    """SEC-20: no insecure default secret."""
    import dataclasses

    from kiosk.app import create_app
    from protocol.settings import ConfigError

    production = dataclasses.replace(kiosk_settings, demo_mode=False)
    with pytest.raises(ConfigError, match="does not exist"):
        create_app(production)


def test_a_readable_session_key_file_is_refused(kiosk_settings):
    """SEC-20: secrets are files only their owner can read."""
    import dataclasses

    from kiosk.app import create_app
    from protocol.settings import ConfigError

    key = kiosk_settings.secret_key_path
    key.parent.mkdir(parents=True, exist_ok=True)
    key.write_text("x" * 64)
    key.chmod(0o644)
    with pytest.raises(ConfigError, match="can be read by others"):
        create_app(dataclasses.replace(kiosk_settings, demo_mode=False))
