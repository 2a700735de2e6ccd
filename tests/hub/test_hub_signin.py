"""Staff sign-in: password and a one-time code, throttling, CSRF, cookies and headers (SEC-18, SEC-20)."""

from __future__ import annotations

import logging
import time

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from hub.app import create_app
from hub.audit.models import AuditEntryRow
from hub.db import unit_of_work
from hub.staff import totp
from hub.staff.roles import Role
from tests.hub.helpers import PASSWORD, add_member, csrf_token, post_form, sign_in


def audit_rows(app: Flask) -> list[AuditEntryRow]:
    from tests.hub.helpers import hub_of

    with unit_of_work(hub_of(app).sessions, write=False) as session:
        return list(session.scalars(select(AuditEntryRow).order_by(AuditEntryRow.seq)))


def test_signing_in_needs_the_password_and_a_valid_one_time_code(app: Flask, client: FlaskClient) -> None:
    """SEC-18: both factors open the staff pages."""
    secret = add_member(app, "anna", Role.STAFF)
    response = sign_in(client, "anna", secret)
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/")
    page = client.get("/admin/")
    assert page.status_code == 200
    assert "Välkommen, Anna" in page.data.decode()


def test_a_correct_password_alone_does_not_open_the_staff_pages(app: Flask, client: FlaskClient) -> None:
    """SEC-18: after the password step the member is still signed out."""
    add_member(app, "anna")
    first = post_form(client, "/admin/signin", {"username": "anna", "password": PASSWORD})
    assert first.headers["Location"].endswith("/admin/signin/code")
    overview = client.get("/admin/")
    assert overview.status_code == 302 and overview.headers["Location"].endswith("/admin/signin")
    assert client.get("/admin/audit").status_code == 302


def test_a_wrong_password_shows_a_clear_message(app: Flask, client: FlaskClient) -> None:
    """SEC-18: a wrong password is refused with a message, not a stack trace."""
    add_member(app, "anna")
    response = post_form(client, "/admin/signin", {"username": "anna", "password": "fel lösenord igen"})
    assert response.status_code == 401
    text = response.data.decode()
    assert "Fel användarnamn eller lösenord." in text
    assert "Traceback" not in text and "fel lösenord igen" not in text


def test_an_unknown_username_gets_the_same_message_as_a_wrong_password(app: Flask, client: FlaskClient) -> None:
    """SEC-18: the page does not tell which usernames exist."""
    response = post_form(client, "/admin/signin", {"username": "ingen", "password": PASSWORD})
    assert response.status_code == 401
    assert "Fel användarnamn eller lösenord." in response.data.decode()


def test_a_wrong_code_is_refused_and_a_used_code_cannot_be_used_again(app: Flask, client: FlaskClient) -> None:
    """SEC-18: the second factor is checked, and a code works once."""
    secret = add_member(app, "anna")
    post_form(client, "/admin/signin", {"username": "anna", "password": PASSWORD})
    wrong = str((int(totp.current_code(secret)) + 1) % 1_000_000).zfill(6)
    response = post_form(client, "/admin/signin/code", {"code": wrong})
    assert response.status_code == 401
    assert "Engångskoden är fel eller redan använd." in response.data.decode()

    code = totp.current_code(secret)
    assert sign_in(client, "anna", secret, code=code).status_code == 302
    other = FlaskClient(app, app.response_class, use_cookies=True)
    replay = sign_in(other, "anna", secret, code=code)
    assert replay.status_code == 401


def test_sign_in_locks_after_too_many_failures_and_says_for_how_long(app: Flask, client: FlaskClient) -> None:
    """SEC-18: after signin_max_failures (3 here) even the right password is refused for 5 minutes."""
    secret = add_member(app, "anna")
    for _ in range(2):
        assert post_form(client, "/admin/signin", {"username": "anna", "password": "x" * 12}).status_code == 401
    third = post_form(client, "/admin/signin", {"username": "anna", "password": "x" * 12})
    assert third.status_code == 429
    message = "För många misslyckade försök. Inloggningen är spärrad i 5 minuter."
    assert message in third.data.decode()
    locked = post_form(client, "/admin/signin", {"username": "anna", "password": PASSWORD})
    assert locked.status_code == 429 and message in locked.data.decode()
    assert client.get("/admin/signin/code").status_code == 302  # no way round the lock
    assert secret  # the account itself is untouched


def test_the_lock_holds_for_every_web_worker(app: Flask, settings, client: FlaskClient) -> None:  # type: ignore[no-untyped-def]
    """SEC-18: failures are counted in the database, so a second worker (a second app) sees them too."""
    add_member(app, "anna")
    for _ in range(3):
        post_form(client, "/admin/signin", {"username": "anna", "password": "x" * 12})
    other_worker = create_app(settings)
    response = post_form(other_worker.test_client(), "/admin/signin", {"username": "anna", "password": PASSWORD})
    assert response.status_code == 429
    other_worker.extensions["tinget_hub"].engine.dispose()


def test_wrong_codes_count_towards_the_lock(app: Flask, client: FlaskClient) -> None:
    """SEC-18: the one-time code cannot be guessed at leisure."""
    secret = add_member(app, "anna")
    post_form(client, "/admin/signin", {"username": "anna", "password": PASSWORD})
    wrong = str((int(totp.current_code(secret)) + 500_000) % 1_000_000).zfill(6)
    statuses = [post_form(client, "/admin/signin/code", {"code": wrong}).status_code for _ in range(3)]
    assert statuses == [401, 401, 429]
    again = post_form(client, "/admin/signin", {"username": "anna", "password": PASSWORD})
    assert again.status_code == 429


def test_a_post_without_a_csrf_token_is_refused_with_a_clear_page(app: Flask, client: FlaskClient) -> None:
    """SEC-18: every form needs its CSRF token."""
    add_member(app, "anna")
    response = client.post("/admin/signin", data={"username": "anna", "password": PASSWORD})
    assert response.status_code == 400
    text = response.data.decode()
    assert "Formuläret har gått ut eller kom inte från den här webbplatsen." in text
    assert "Traceback" not in text


def test_a_post_with_a_forged_csrf_token_is_refused(app: Flask, client: FlaskClient) -> None:
    """SEC-18: a token made up by another site does not pass."""
    add_member(app, "anna")
    client.get("/admin/signin")
    forged = "IjY0ZjM5YjQ4ZDA2YjE4ZjM5YjQ4ZDA2YjE4ZjM5YjQ4ZDA2YjE4Ig.ZZZZZZ.forgedsignatureforgedsignature"
    response = client.post("/admin/signin", data={"username": "anna", "password": PASSWORD, "csrf_token": forged})
    assert response.status_code == 400
    assert "Formuläret har gått ut" in response.data.decode()


def test_a_token_from_another_session_is_refused(app: Flask, client: FlaskClient) -> None:
    """SEC-18: a real token lifted from someone else's page is no good in this session."""
    token = csrf_token(app.test_client().get("/admin/signin").data)
    client.get("/admin/signin")
    response = client.post("/admin/signin", data={"username": "a", "password": "b", "csrf_token": token})
    assert response.status_code == 400


def test_the_session_cookie_is_secure_httponly_and_samesite(app: Flask, client: FlaskClient) -> None:
    """SEC-18: the cookie never travels over plain HTTP, is out of reach of scripts, and stays on our site."""
    secret = add_member(app, "anna")
    sign_in(client, "anna", secret)
    cookies = client.get("/admin/signin").headers.getlist("Set-Cookie") or []
    response = post_form(client, "/admin/signout", {}, page="/admin/")
    cookies += response.headers.getlist("Set-Cookie")
    assert cookies
    for cookie in cookies:
        parts = {p.strip().split("=")[0].lower() for p in cookie.split(";")}
        assert {"secure", "httponly"} <= parts, cookie
        assert "samesite=lax" in cookie.lower(), cookie


def test_every_page_has_a_strict_content_security_policy(client: FlaskClient) -> None:
    """SEC-18: no inline script, no framing, a referrer policy on every answer (error pages too)."""
    for path in ("/", "/admin/signin", "/no-such-page", "/api/v1/"):
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "same-origin"
        assert headers["X-Content-Type-Options"] == "nosniff"


def test_pages_have_no_inline_script_or_style(app: Flask, client: FlaskClient) -> None:
    """SEC-18: the CSP forbids inline code, so the pages must not need any."""
    secret = add_member(app, "anna", Role.ADMIN)
    sign_in(client, "anna", secret)
    for path in ("/", "/admin/", "/admin/audit", "/admin/staff"):
        html = client.get(path).data.decode()
        assert "<script>" not in html and "style=" not in html and "<style" not in html, path


def test_a_member_without_the_admin_role_cannot_open_the_staff_page(app: Flask, client: FlaskClient) -> None:
    """SEC-18: roles decide; the refusal is a clear page in Swedish."""
    secret = add_member(app, "bo", Role.REGISTRAR)
    sign_in(client, "bo", secret)
    response = client.get("/admin/staff")
    assert response.status_code == 403
    assert "Ditt konto har inte åtkomst till den här sidan." in response.data.decode()
    assert client.get("/admin/audit").status_code == 403


def test_sign_out_ends_the_session(app: Flask, client: FlaskClient) -> None:
    """SEC-18: after signing out the staff pages are closed again."""
    secret = add_member(app, "anna")
    sign_in(client, "anna", secret)
    response = post_form(client, "/admin/signout", {}, page="/admin/")
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 302
    assert "Du är utloggad." in client.get("/admin/signin").data.decode()


def test_every_sign_in_attempt_and_sign_out_is_in_the_audit_log(app: Flask, client: FlaskClient) -> None:
    """SEC-16: failures, the successful sign-in and the sign-out each write an entry."""
    secret = add_member(app, "anna")
    post_form(client, "/admin/signin", {"username": "anna", "password": "x" * 12})
    sign_in(client, "anna", secret)
    post_form(client, "/admin/signout", {}, page="/admin/")
    actions = [(row.action, row.subject) for row in audit_rows(app)]
    assert actions == [
        ("staff.added", "anna"),
        ("signin.failed", "anna"),
        ("signin.succeeded", "anna"),
        ("signin.signed_out", "anna"),
    ]


def test_no_password_or_code_reaches_the_audit_log_or_the_logs(
    app: Flask, client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    """SEC-20: not the password, not the code, not a password typed into the username field."""
    caplog.set_level(logging.DEBUG)
    secret = add_member(app, "anna")
    typo = "hemligt-lösen-i-fel-fält"
    post_form(client, "/admin/signin", {"username": typo, "password": PASSWORD})
    post_form(client, "/admin/signin", {"username": "anna", "password": "ett annat lösenord"})
    code = totp.current_code(secret, now=time.time())
    sign_in(client, "anna", secret, code=code)
    stored = " ".join(f"{r.actor} {r.subject} {r.details}" for r in audit_rows(app))
    logged = " ".join(f"{r.getMessage()} {vars(r)}" for r in caplog.records)
    for secret_text in (PASSWORD, "ett annat lösenord", typo, code, secret):
        assert secret_text not in stored
        assert secret_text not in logged


def test_a_replaced_hub_secret_key_gives_a_clear_message_at_the_code_step(app: Flask, client: FlaskClient) -> None:
    """A lost or replaced secret key file means no stored second factor opens: the page says so and what to do,
    instead of an error page with nothing to go on."""
    import dataclasses

    from tests.hub.helpers import hub_of

    secret = add_member(app, "anna")
    ctx = hub_of(app)
    app.extensions[next(k for k, v in app.extensions.items() if v is ctx)] = dataclasses.replace(
        ctx, totp_key=bytes(32)
    )
    response = sign_in(client, "anna", secret)
    text = response.data.decode()
    assert response.status_code == 500
    assert "hubbens hemliga nyckel har bytts" in text and "Kontakta IT" in text
    assert "Traceback" not in text
    assert client.get("/admin/").status_code == 302  # still signed out


def test_behind_a_trusted_proxy_the_audit_log_records_each_staff_members_own_address(app: Flask) -> None:
    """With proxy_trusted_hops = 1 the sign-in is recorded with the address nginx saw, not 127.0.0.1."""
    from hub.settings import replace_settings
    from tests.hub.helpers import hub_of

    proxied = create_app(replace_settings(hub_of(app).settings, proxy_trusted_hops=1))
    client = proxied.test_client()
    secret = add_member(proxied, "anna")
    client.environ_base["HTTP_X_FORWARDED_FOR"] = "192.0.2.40"
    assert sign_in(client, "anna", secret).status_code == 302
    assert "192.0.2.40" in audit_rows(proxied)[-1].details
