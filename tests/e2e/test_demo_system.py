"""A newcomer's first minutes: the kiosks and the hub of `make demo`, in Debian's chromium through Playwright.

Screenshots of every screen land in test-output/e2e/<test name>/.
"""

from __future__ import annotations

import json
import urllib.request

import pytest

from tests.e2e.browser import chromium_browser, screenshot_dir
from tests.e2e.demo_run import processes_mentioning, start_demo

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

KIOSK_VIEWPORT = {"width": 1280, "height": 800}


def test_the_kiosk_start_screen_speaks_swedish_and_switches_to_english(demo, request):
    shots = screenshot_dir(request.node.name)
    with chromium_browser() as browser:
        page = browser.new_page(viewport=KIOSK_VIEWPORT)
        page.goto(demo.kiosk_urls["Änge"] + "/")
        assert page.locator("html").get_attribute("lang") == "sv"
        assert page.get_by_text("Servicekontoret i Änge").is_visible()
        assert page.get_by_role("heading", name="Välkommen! Vad vill du göra?").is_visible()
        assert page.get_by_text("Rösta").first.is_visible()
        page.screenshot(path=str(shots / "1-kiosk-ange-svenska.png"))

        page.get_by_role("button", name="English").click()
        page.wait_for_load_state()
        assert page.locator("html").get_attribute("lang") == "en"
        assert page.get_by_text("Service office in Änge").is_visible()
        page.screenshot(path=str(shots / "2-kiosk-ange-english.png"))

        other = browser.new_page(viewport=KIOSK_VIEWPORT)
        other.goto(demo.kiosk_urls["Föllinge"] + "/")
        assert other.get_by_text("Servicekontoret i Föllinge").is_visible()
        other.screenshot(path=str(shots / "3-kiosk-follinge.png"))


def test_a_staff_member_signs_in_with_password_and_one_time_code_and_reads_the_audit_log(demo, request):
    """SEC-18 and SEC-16 as a person meets them: two steps to sign in, then the audit log with the sign-in in it,
    then the devices page with both kiosks online (SEC-11's fleet view)."""
    shots = screenshot_dir(request.node.name)
    with chromium_browser() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(demo.hub_url + "/admin/")
        page.get_by_label("Användarnamn").fill("demo")
        page.get_by_label("Lösenord").fill(demo.password)
        page.screenshot(path=str(shots / "1-inloggning.png"))
        page.get_by_role("button", name="Fortsätt").click()

        page.get_by_label("Engångskod").fill(demo.cli("code"))
        page.screenshot(path=str(shots / "2-engangskod.png"))
        page.get_by_role("button", name="Logga in").click()
        page.wait_for_load_state()
        page.screenshot(path=str(shots / "3-oversikt.png"))

        page.get_by_role("link", name="Granskningslogg").first.click()
        page.wait_for_load_state()
        body = page.locator("main").inner_text()
        assert "signin" in body
        assert demo.password not in page.content()
        page.screenshot(path=str(shots / "4-granskningslogg.png"), full_page=True)

        # IT's view of the fleet: both demo kiosks report to the hub over TLS with their own certificates.
        page.get_by_role("link", name="Enheter").first.click()
        page.wait_for_load_state()
        for device in ("ange", "follinge"):
            row = page.locator(f"#device-{device}")
            row.wait_for()
            assert "Ansluten" in row.inner_text(), row.inner_text()
        assert page.locator("svg.chart").is_visible()
        page.screenshot(path=str(shots / "5-enheter.png"), full_page=True)


def test_the_hub_reports_its_database_and_the_demo_broker_as_healthy(demo):
    with urllib.request.urlopen(demo.hub_url + "/healthz", timeout=10) as response:  # noqa: S310 - local demo
        health = json.load(response)
    assert health["database"]["ok"] is True
    assert health["broker"]["ok"] is True, health


def test_ctrl_c_stops_every_process_the_demo_started(tmp_path):
    """Run a second demo, press Ctrl-C, and find nothing left running from it."""
    root = tmp_path / "demo"
    running = start_demo(root)
    assert processes_mentioning(str(root)), "the demo's processes should be running before Ctrl-C"
    assert running.stop() == 0
    assert "Allt är stoppat" in running.output
    assert processes_mentioning(str(root)) == []
