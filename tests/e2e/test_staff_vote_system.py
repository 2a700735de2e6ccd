"""A staff vote (named poll), end to end in `make demo`, through Debian's chromium.

An election officer creates and opens a named poll with `tinget hub poll`; the demo staff member signs in at the
Föllinge kiosk with the employee card, is told before casting that the vote is public by name, and votes; the
public board shows the name without the choice while the poll is open, and the choice once it has closed; the
published record passes `tinget verify`.

Screenshots land in test-output/e2e/<test name>/.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.browser import chromium_browser, screenshot_dir
from tests.e2e.test_kiosk_signin import insert, type_pin
from tinget.demo import DEMO_DISPLAY_NAME, DEMO_EMPLOYEE_ID

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

POLL = "personalfest-2027"
TITLE = "Personalfest 2027: lunch eller middag?"
KIOSK = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
TIMEOUT_MS = 30_000
WAIT = 90.0


def _hub_poll(demo, *args: str) -> str:  # type: ignore[no-untyped-def]
    """`tinget hub poll …` against the demo's hub, as the officer would run it on the hub."""
    done = subprocess.run(
        [sys.executable, "-m", "tinget.cli", "hub", "poll", *args, "--config", str(demo.root / "hub.toml")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _local(at: dt.datetime) -> str:
    return at.astimezone(ZoneInfo("Europe/Stockholm")).strftime("%Y-%m-%dT%H:%M")


def _wait_for(check, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_staff_member_votes_by_name_at_follinge_and_the_board_shows_the_name(demo, request, tmp_path) -> None:
    shots = screenshot_dir(request.node.name)
    now = dt.datetime.now(dt.UTC)
    _hub_poll(
        demo, "create", POLL, "--named", "--role", "staff", "--title-sv", TITLE,
        "--option", "lunch:Lunch:Lunch", "--option", "middag:Middag:Dinner",
        "--opens", _local(now - dt.timedelta(minutes=5)), "--closes", _local(now + dt.timedelta(days=7)),
    )  # fmt: skip
    _hub_poll(demo, "open", POLL)
    follinge = demo.kiosk_urls["Föllinge"]
    with chromium_browser() as browser:
        screen = browser.new_page(viewport=KIOSK)
        screen.goto(follinge + "/")
        insert(screen, "demo")
        screen.get_by_role("heading", name="Skriv din PIN-kod").wait_for(timeout=TIMEOUT_MS)
        type_pin(screen, "123456")
        screen.locator(".key-ok").click()
        screen.get_by_role("heading", name="Inloggad som personal").wait_for(timeout=TIMEOUT_MS)

        def poll_at_kiosk() -> bool:
            screen.goto(follinge + "/staff-vote")
            return screen.get_by_text(TITLE).count() > 0

        _wait_for(poll_at_kiosk, "the staff vote to reach the Föllinge kiosk")
        screen.get_by_role("link", name="Rösta").first.click()
        screen.get_by_text("Middag", exact=True).click()
        screen.get_by_role("button", name="Fortsätt").click()
        screen.get_by_role("heading", name="Din röst blir offentlig").wait_for(timeout=TIMEOUT_MS)
        assert DEMO_EMPLOYEE_ID in screen.locator("main").inner_text()
        screen.screenshot(path=str(shots / "1-kiosk-offentlig-rost.png"))
        screen.get_by_role("button", name="Rösta öppet").click()
        screen.get_by_role("heading", name="Tack – din röst är sparad").wait_for(timeout=TIMEOUT_MS)
        code = screen.locator("#tracking-code").inner_text().strip()
        screen.screenshot(path=str(shots / "2-kiosk-kvitto.png"))

        phone = browser.new_page(viewport=PHONE)

        def on_board() -> bool:
            phone.goto(f"{demo.hub_url}/val/{POLL}?kod={code}")
            return phone.locator("#lookup.ok").count() > 0

        _wait_for(on_board, "the staff ballot to reach the hub's board")
        board = phone.locator("main").inner_text()
        assert DEMO_DISPLAY_NAME in board and DEMO_EMPLOYEE_ID in board
        assert "Visas efter stängningen" in board or "Middag" not in board.split("Anslagstavla")[-1]
        phone.screenshot(path=str(shots / "3-telefon-namn-utan-val.png"), full_page=True)

        _hub_poll(demo, "close", POLL)
        _hub_poll(demo, "publish", POLL)
        phone.goto(f"{demo.hub_url}/val/{POLL}")
        phone.locator("svg.chart").wait_for(timeout=TIMEOUT_MS)
        phone.screenshot(path=str(shots / "4-telefon-resultat-med-namn.png"), full_page=True)
        rows = phone.locator("table").last.inner_text()
        assert DEMO_DISPLAY_NAME in rows and "Middag" in rows

    record = tmp_path / "personalfest.jsonl"
    _hub_poll(demo, "record", POLL, "--out", str(record))
    verified = subprocess.run(
        [sys.executable, "-m", "tinget.cli", "verify", str(record)], capture_output=True, text=True, timeout=120
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.rstrip().endswith("every check holds"), verified.stdout
