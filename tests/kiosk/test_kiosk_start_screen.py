"""The touch start screen: Swedish by default, English on request, big tiles, card prompt, clock."""

from __future__ import annotations

import re

from tests.kiosk.pages import csrf_token, text_of

SWEDISH_TILES = ("Rösta", "Sök handlingar", "Anslagstavlan", "Begär ut en handling", "Personal: checka in")
ENGLISH_TILES = ("Vote", "Search public documents", "Notice board", "Ask for a document", "Staff: check in")


def test_the_start_screen_greets_in_swedish_with_the_office_name_and_every_tile(client):
    page = text_of(client.get("/"))
    assert '<html lang="sv"' in page
    assert "Servicekontoret i Änge" in page
    assert "Sätt i ditt e-legitimationskort" in page
    for tile in SWEDISH_TILES:
        assert f'<span class="tile-title">{tile}</span>' in page
    assert 'aria-pressed="true">Svenska</button>' in page


def test_switching_to_english_shows_the_start_screen_in_english(client):
    token = csrf_token(client)
    response = client.post("/lang/en", data={"csrf_token": token, "next": "/"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    page = text_of(client.get("/"))
    assert '<html lang="en"' in page
    assert "Service office in Änge" in page
    assert "Insert your e-ID card" in page
    for tile in ENGLISH_TILES:
        assert f'<span class="tile-title">{tile}</span>' in page
    assert "Rösta" not in page


def test_the_language_switch_returns_to_the_page_the_resident_was_on(client):
    token = csrf_token(client, "/service/staff")
    response = client.post("/lang/en", data={"csrf_token": token, "next": "/service/staff"})
    assert response.headers["Location"] == "/service/staff"
    assert "Coming soon" in text_of(client.get("/service/staff"))


def test_the_language_switch_never_sends_the_resident_to_another_site(client):
    token = csrf_token(client)
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        response = client.post("/lang/en", data={"csrf_token": token, "next": target})
        assert response.headers["Location"] == "/"


def test_an_unknown_language_is_refused_politely_in_the_current_language(client):
    token = csrf_token(client)
    response = client.post("/lang/xx", data={"csrf_token": token, "next": "/"})
    assert response.status_code == 404
    page = text_of(response)
    assert "Det språket finns inte här" in page
    assert "Tillbaka till start" in page
    assert '<html lang="sv"' in text_of(client.get("/"))


def test_every_tile_leads_to_its_service_or_a_friendly_coming_soon_page(client):
    page = text_of(client.get("/"))
    links = re.findall(r'<a class="tile[^"]*" href="([^"]+)"', page)
    assert len(links) == len(SWEDISH_TILES)
    built = {
        "/service/vote": "/vote",
        "/service/documents": "/documents",
        "/service/notice-board": "/notice-board",
        "/service/request": "/request",
    }
    for link in links:
        response = client.get(link, follow_redirects=True)
        assert response.status_code == 200
        if link in built:
            assert response.request.path == built[link]
        else:
            assert "Kommer snart" in text_of(response)
        assert 'href="/"' in text_of(response)


def test_the_text_size_choice_is_remembered_for_the_visit(client):
    token = csrf_token(client)
    assert '<html lang="sv" class="text-normal">' in text_of(client.get("/"))
    client.post("/text-size/larger", data={"csrf_token": token, "next": "/"})
    assert '<html lang="sv" class="text-larger">' in text_of(client.get("/"))
    assert client.post("/text-size/huge", data={"csrf_token": token, "next": "/"}).status_code == 404


def test_the_start_screen_shows_the_clock_and_date_and_passes_the_idle_limits_to_the_script(client):
    page = text_of(client.get("/"))
    assert re.search(r'id="clock-time">\d\d:\d\d<', page)
    assert re.search(r'id="clock-date">(måndag|tisdag|onsdag|torsdag|fredag|lördag|söndag) \d{1,2} \w+<', page)
    assert 'data-idle-seconds="90"' in page
    assert 'data-idle-warning-seconds="15"' in page
    assert "Är du kvar?" in page


def test_pages_have_no_inline_script_or_style(client):
    """SEC-18: the CSP forbids inline code, so the pages must not need any."""
    for path in ("/", "/service/staff", "/no-such-page"):
        page = text_of(client.get(path))
        assert "<style" not in page
        assert " style=" not in page
        assert re.search(r"<script(?![^>]*\bsrc=)", page) is None
        assert re.search(r"\son[a-z]+=", page) is None


def test_an_unknown_page_is_a_large_friendly_page_in_the_chosen_language(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "Vi hittade inte sidan" in text_of(response)
    client.post("/lang/en", data={"csrf_token": csrf_token(client), "next": "/"})
    assert "We could not find that page" in text_of(client.get("/no-such-page"))


def test_a_crash_shows_a_friendly_page_and_no_stack_trace(app):
    """SEC-20: no internals in an error page."""

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("secret internals /etc/tinget")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    page = text_of(response)
    assert "Något gick fel" in page
    assert "Traceback" not in page
    assert "secret internals" not in page
