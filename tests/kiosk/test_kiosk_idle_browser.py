"""The idle reset in a real browser: idle.js warns first, lets the resident stay, then ends the visit.

Runs the kiosk app on a free port on 127.0.0.1 and drives Debian's chromium through Playwright, with short
idle limits so the whole story takes a few seconds.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator

import pytest

from tests.e2e.browser import chromium_browser, screenshot_dir

IDLE_SECONDS = 5
WARNING_SECONDS = 3

pytestmark = pytest.mark.e2e


@pytest.fixture
def live_kiosk(kiosk_settings) -> Iterator[str]:
    """The kiosk UI with short idle limits on a free local port; yields its base URL."""
    from werkzeug.serving import make_server

    from kiosk.app import create_app
    from kiosk.store import make_engine, upgrade

    settings = dataclasses.replace(kiosk_settings, idle_seconds=IDLE_SECONDS, idle_warning_seconds=WARNING_SECONDS)
    engine = make_engine(settings.database)
    upgrade(engine, settings.device_id)
    engine.dispose()
    app = create_app(settings)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()
        with app.app_context():
            from kiosk.web import runtime

            runtime().engine.dispose()


def test_the_idle_timer_warns_lets_the_resident_stay_and_then_resets_to_swedish(live_kiosk, request):
    shots = screenshot_dir(request.node.name)
    with chromium_browser() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        errors: list[str] = []
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.goto(live_kiosk + "/")
        page.get_by_role("button", name="English").click()
        page.get_by_role("link", name="Vote").click()
        assert page.locator("html").get_attribute("lang") == "en"

        warning = page.locator("#idle-warning")
        warning.wait_for(state="visible", timeout=(IDLE_SECONDS + 2) * 1000)
        assert "Are you still there?" in warning.inner_text()
        page.screenshot(path=str(shots / "idle-warning.png"))
        page.get_by_role("button", name="Yes, I am still here").click()
        warning.wait_for(state="hidden", timeout=2000)
        page.wait_for_timeout(1500)  # past the moment the first warning's deadline would have struck
        assert page.url.endswith("/vote")
        assert page.locator("html").get_attribute("lang") == "en"

        warning.wait_for(state="visible", timeout=(IDLE_SECONDS + 2) * 1000)
        page.wait_for_url(live_kiosk + "/", timeout=(WARNING_SECONDS + 3) * 1000)
        assert page.locator("html").get_attribute("lang") == "sv"
        assert "Servicekontoret i Änge" in page.inner_text("header")
        assert page.locator("body").get_attribute("data-idle-armed") == "false"
        page.screenshot(path=str(shots / "after-reset.png"))
        assert errors == []  # no CSP violation or script error on the way
