"""The idle reset: the visit ends, and the next person sees nothing of the last one."""

from __future__ import annotations

import time

from tests.kiosk.pages import csrf_token, text_of


def _choose_english(client) -> None:
    client.post("/lang/en", data={"csrf_token": csrf_token(client), "next": "/"})
    assert '<html lang="en"' in text_of(client.get("/"))


def test_ending_the_visit_clears_the_session_and_returns_to_the_start_in_swedish(client):
    _choose_english(client)
    client.post("/text-size/larger", data={"csrf_token": csrf_token(client), "next": "/"})
    token = csrf_token(client)
    response = client.post("/session/end", data={"csrf_token": token})
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    with client.session_transaction() as session:
        assert "lang" not in session
        assert "text_size" not in session
        assert "csrf_token" not in session
    page = text_of(client.get("/"))
    assert '<html lang="sv" class="text-normal">' in page
    assert 'data-idle-armed="false"' in page


def test_ending_the_visit_without_a_valid_token_still_only_ends_it(client):
    _choose_english(client)
    response = client.post("/session/end", data={"csrf_token": "stale"})
    assert response.status_code == 303
    assert '<html lang="sv"' in text_of(client.get("/"))


def test_a_stale_visit_is_cleared_by_the_server_on_the_next_request(client, kiosk_settings):
    _choose_english(client)
    with client.session_transaction() as session:
        session["seen"] = time.time() - kiosk_settings.idle_seconds - 1
    page = text_of(client.get("/service/staff"))
    assert '<html lang="sv"' in page
    assert "Kommer snart" in page


def test_a_start_screen_nobody_has_touched_for_hours_still_works_on_the_first_tap(client):
    token = csrf_token(client)
    with client.session_transaction() as session:
        session["seen"] = time.time() - 6 * 3600
    response = client.post("/lang/en", data={"csrf_token": token, "next": "/"})
    assert response.status_code == 303
    assert '<html lang="en"' in text_of(client.get("/"))


def test_a_visit_active_within_the_limit_is_kept(client, kiosk_settings):
    _choose_english(client)
    with client.session_transaction() as session:
        session["seen"] = time.time() - kiosk_settings.idle_seconds + 5
    assert '<html lang="en"' in text_of(client.get("/"))


def test_a_page_left_open_cannot_act_after_the_visit_went_stale(client, kiosk_settings):
    """SEC-18: the stale page's form token died with the visit."""
    token = csrf_token(client, "/service/staff")  # someone used the kiosk, then walked away
    with client.session_transaction() as session:
        session["seen"] = time.time() - kiosk_settings.idle_seconds - 1
    response = client.post("/lang/en", data={"csrf_token": token, "next": "/"})
    assert response.status_code == 400
    assert "Sidan hade gått ut" in text_of(response)
    assert '<html lang="sv"' in text_of(client.get("/"))


def test_keepalive_renews_the_visit_and_tells_a_stale_page_that_it_is_over(client, kiosk_settings):
    token = csrf_token(client)
    with client.session_transaction() as session:
        session["seen"] = time.time() - kiosk_settings.idle_seconds + 2
    response = client.post("/session/keepalive", headers={"X-CSRFToken": token})
    assert response.status_code == 200
    assert response.get_json()["visit"] == "active"
    with client.session_transaction() as session:
        assert time.time() - session["seen"] < 5
        session["seen"] = time.time() - kiosk_settings.idle_seconds - 1
    response = client.post("/session/keepalive", headers={"X-CSRFToken": token})
    assert response.status_code == 409
    assert response.get_json() == {"visit": "ended"}


def test_the_idle_timer_is_armed_once_someone_has_used_the_kiosk(client):
    assert 'data-idle-armed="false"' in text_of(client.get("/"))
    client.get("/service/documents")
    assert 'data-idle-armed="true"' in text_of(client.get("/"))


def test_the_health_check_neither_starts_nor_prolongs_a_visit(client):
    response = client.get("/healthz")
    assert "Set-Cookie" not in response.headers
