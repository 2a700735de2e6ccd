"""Signing in at the kiosk as a resident does it, in `make demo`: the demo's "test cards" panel puts a card in the
kiosk's virtual reader (vpcd → the demo's own pcscd → the card service), the keypad takes the PIN.

Screenshots of every screen land in test-output/e2e/<test name>/.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from tests.e2e.browser import chromium_browser, screenshot_dir
from tests.support.pii import find_personnummer

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

KIOSK_VIEWPORT = {"width": 1280, "height": 800}
DEMO_PIN = "123456"
TIMEOUT_MS = 15_000


def open_panel(page) -> None:
    panel = page.locator("#demo-cards")
    if panel.get_attribute("open") is None:
        page.locator("#demo-cards summary").click()


def insert(page, card: str) -> None:
    """Tap the card in the demo panel: it goes into this kiosk's virtual reader."""
    open_panel(page)
    page.locator(f"button[data-card={card}]").click()


def pull(page) -> None:
    open_panel(page)
    page.locator("#demo-card-remove").click()


def type_pin(page, digits: str) -> None:
    for digit in digits:
        page.locator(f".key[data-digit='{digit}']").click()


def test_a_resident_signs_in_with_a_card_and_pin_and_pulling_the_card_ends_the_visit(demo, request):
    """The whole sign-in on the touch screen: a wrong PIN shows the tries left, the right one greets Anna by
    her given name and birth year, and taking the card out brings back the start screen (SEC-03, SEC-10)."""
    shots = screenshot_dir(request.node.name)
    with chromium_browser() as browser:
        page = browser.new_page(viewport=KIOSK_VIEWPORT)
        page.goto(demo.kiosk_urls["Änge"] + "/")
        page.screenshot(path=str(shots / "1-start.png"))
        insert(page, "anna")
        page.get_by_role("heading", name="Skriv din PIN-kod").wait_for(timeout=TIMEOUT_MS)
        page.screenshot(path=str(shots / "2-pin.png"))

        type_pin(page, "111111")
        assert page.locator("#pin").input_value() == "111111"  # shown as dots: it is a password field
        assert page.locator("#pin").get_attribute("type") == "password"
        page.locator(".key-ok").click()
        page.get_by_text("Fel PIN-kod. 2 försök kvar innan kortet spärras.").wait_for(timeout=TIMEOUT_MS)
        page.screenshot(path=str(shots / "3-fel-pin.png"))

        type_pin(page, DEMO_PIN)
        page.locator(".key-ok").click()
        page.get_by_role("heading", name="Välkommen, Anna (1985)").wait_for(timeout=TIMEOUT_MS)
        assert find_personnummer(page.content()) == []
        page.screenshot(path=str(shots / "4-valkommen.png"))

        pull(page)
        page.get_by_role("heading", name="Välkommen! Vad vill du göra?").wait_for(timeout=TIMEOUT_MS)
        assert "Inloggad" not in page.content()
        page.screenshot(path=str(shots / "5-kortet-uttaget.png"))
        page.goto(demo.kiosk_urls["Änge"] + "/welcome")
        assert page.url.rstrip("/") == demo.kiosk_urls["Änge"]


def test_a_revoked_card_is_refused_with_a_clear_reason(demo, request):
    """SEC-01: the revoked demo card never reaches the PIN: "Kortet är spärrat", and the hub's audit log learns
    of the refusal (the reason and the kiosk, not the person)."""
    shots = screenshot_dir(request.node.name)
    with chromium_browser() as browser:
        page = browser.new_page(viewport=KIOSK_VIEWPORT)
        page.goto(demo.kiosk_urls["Änge"] + "/")
        insert(page, "bertil")
        page.get_by_role("heading", name="Kortet är spärrat").wait_for(timeout=TIMEOUT_MS)
        assert page.locator("#pin").count() == 0
        page.screenshot(path=str(shots / "1-sparrat.png"))
        insert(page, "cecilia")
        page.get_by_role("heading", name="Kortet har gått ut").wait_for(timeout=TIMEOUT_MS)
        page.screenshot(path=str(shots / "2-utganget.png"))
        insert(page, "david")
        page.get_by_role("heading", name="Kortet kommer från en utfärdare som kiosken inte litar på").wait_for(
            timeout=TIMEOUT_MS
        )
        page.screenshot(path=str(shots / "3-okand-utfardare.png"))
        pull(page)
        page.get_by_role("heading", name="Välkommen! Vad vill du göra?").wait_for(timeout=TIMEOUT_MS)
    hub_db = demo.root / "hub" / "hub.db"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with sqlite3.connect(hub_db) as connection:
            reasons = [row[0] for row in connection.execute(
                "SELECT details FROM audit_entries WHERE action = 'kiosk.card_refused'"
            )]  # fmt: skip
        if any('"revoked"' in details for details in reasons):
            break
        time.sleep(0.5)
    assert any('"revoked"' in details for details in reasons), reasons


def test_a_card_pulled_mid_pin_returns_to_the_start_screen(demo, request):
    """SEC-10: three digits typed, the card comes out: the start screen, no PIN field, nobody signed in."""
    shots = screenshot_dir(request.node.name)
    with chromium_browser() as browser:
        page = browser.new_page(viewport=KIOSK_VIEWPORT)
        page.goto(demo.kiosk_urls["Föllinge"] + "/")
        insert(page, "anna")
        page.get_by_role("heading", name="Skriv din PIN-kod").wait_for(timeout=TIMEOUT_MS)
        type_pin(page, "123")
        page.screenshot(path=str(shots / "1-halv-pin.png"))
        pull(page)
        page.get_by_role("heading", name="Välkommen! Vad vill du göra?").wait_for(timeout=TIMEOUT_MS)
        assert page.locator("#pin").count() == 0
        page.screenshot(path=str(shots / "2-start-igen.png"))


def test_a_staff_card_signs_in_as_staff_with_the_demo_accounts_roles(demo, request):
    shots = screenshot_dir(request.node.name)
    with chromium_browser() as browser:
        page = browser.new_page(viewport=KIOSK_VIEWPORT)
        page.goto(demo.kiosk_urls["Föllinge"] + "/")
        insert(page, "demo")
        page.get_by_role("heading", name="Skriv din PIN-kod").wait_for(timeout=TIMEOUT_MS)
        type_pin(page, DEMO_PIN)
        page.locator(".key-ok").click()
        page.get_by_role("heading", name="Inloggad som personal").wait_for(timeout=TIMEOUT_MS)
        assert "registrator" in page.locator("main").inner_text()
        page.screenshot(path=str(shots / "1-personal.png"))
        page.get_by_role("button", name="Logga ut").click()
        page.get_by_role("heading", name="Glöm inte ditt kort").wait_for(timeout=TIMEOUT_MS)
        page.screenshot(path=str(shots / "2-glom-inte-kortet.png"))
        pull(page)


def test_sign_in_works_with_the_hub_stopped(demo, request):
    """The kiosk checks the card against the trust set it already holds: with the demo's hub (broker, web, ingest,
    device API) stopped, Anna still signs in at Änge."""
    import socket

    shots = screenshot_dir(request.node.name)
    hub_port = int(demo.hub_url.rsplit(":", 1)[1])

    def hub_answers() -> bool:
        with socket.socket() as probe:
            probe.settimeout(0.5)
            return probe.connect_ex(("127.0.0.1", hub_port)) == 0

    demo.cli("hub", "stop")
    try:
        deadline = time.monotonic() + 30
        while hub_answers() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not hub_answers(), "the hub should be stopped"
        with chromium_browser() as browser:
            page = browser.new_page(viewport=KIOSK_VIEWPORT)
            page.goto(demo.kiosk_urls["Änge"] + "/")
            insert(page, "anna")
            page.get_by_role("heading", name="Skriv din PIN-kod").wait_for(timeout=TIMEOUT_MS)
            type_pin(page, DEMO_PIN)
            page.locator(".key-ok").click()
            page.get_by_role("heading", name="Välkommen, Anna (1985)").wait_for(timeout=TIMEOUT_MS)
            page.screenshot(path=str(shots / "1-valkommen-utan-hubb.png"))
            pull(page)
            page.get_by_role("heading", name="Välkommen! Vad vill du göra?").wait_for(timeout=TIMEOUT_MS)
    finally:
        demo.cli("hub", "start")
        deadline = time.monotonic() + 60
        while not hub_answers() and time.monotonic() < deadline:
            time.sleep(0.2)
    assert hub_answers(), "the hub should be back"


def test_no_personnummer_or_pin_reaches_a_log_or_a_database(demo):
    """SEC-03, SEC-14 scanner: after the sign-ins above, every demo log and every database file (hub and both
    kiosks, WAL included) is free of personnummer and of the PIN as typed with its field name."""
    files = [*sorted((demo.root / "logs").glob("*.log"))]
    files += [path for path in demo.root.rglob("*.db*") if path.is_file()]
    assert files
    for path in files:
        data = Path(path).read_bytes()
        assert find_personnummer(data) == [], path
        assert b"pin=123456" not in data and b'"pin": "123456"' not in data, path
