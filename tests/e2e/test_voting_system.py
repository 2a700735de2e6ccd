"""Voting, end to end in `make demo`, through Debian's chromium: issue 6's "done when".

An election officer creates a secret poll with 2-of-3 trustees at the hub and uploads the roll; the demo trustees
make the key; the officer opens the poll; Anna votes at the Änge kiosk with her demo card while the hub is
stopped and gets a receipt; when the hub comes back the ballot reaches it and her tracking code is on the public
board as counted; the officer closes the poll, two trustees decrypt, the officer publishes, the results page shows
the count and its chart, and `tinget verify` on the downloaded record says every check holds.

Screenshots land in test-output/e2e/<test name>/.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time
import urllib.error
import urllib.request
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.browser import chromium_browser, screenshot_dir
from tests.e2e.test_kiosk_signin import insert, pull, type_pin
from tests.e2e.test_records_system import _sign_in
from tests.support.pii import find_personnummer
from tinget.demo_polls import roll_file

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

POLL = "lekplats-ange"
TITLE = "Var ska den nya lekplatsen i Änge ligga?"
KIOSK = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
TIMEOUT_MS = 30_000
WAIT = 90.0


def _wait_for(check, what: str, wait: float = WAIT):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def _hub_answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=2):  # noqa: S310 (the demo's own http URL)
            return True
    except (urllib.error.URLError, OSError):
        return False


def _local(at: dt.datetime) -> str:
    return at.astimezone(ZoneInfo("Europe/Stockholm")).strftime("%Y-%m-%dT%H:%M")


def _officer_creates_the_poll(page, demo, shots) -> None:  # type: ignore[no-untyped-def]
    now = dt.datetime.now(dt.UTC)
    page.get_by_role("link", name="Omröstningar").first.click()
    page.get_by_role("link", name="Ny omröstning").first.click()
    page.get_by_label("Omröstnings-id").fill(POLL)
    page.get_by_label("Rubrik på svenska").fill(TITLE)
    page.get_by_label("Rubrik på engelska").fill("Where should Änge's new playground be?")
    page.get_by_label("Beskrivning på svenska (Markdown)").fill("Kommunen bygger en **ny lekplats** i Änge 2027.")
    page.get_by_label("Alternativ, ett per rad").fill(
        "skolan | Vid skolan | By the school\ntorget | Vid torget | By the square"
    )
    page.get_by_label("Öppnar (svensk tid)").fill(_local(now - dt.timedelta(minutes=5)))
    page.get_by_label("Stänger (svensk tid)").fill(_local(now + dt.timedelta(days=7)))
    _click_and_wait(page, "Spara utkastet")
    page.get_by_label("Röstlängd (CSV, ett personnummer per rad)").set_input_files(str(roll_file(demo.root)))
    _click_and_wait(page, "Ladda upp röstlängden")
    assert "Röstlängden har nu 4 röstberättigade" in page.locator("main").inner_text()
    page.get_by_label("Nyckelinnehavarnas användarnamn").fill("tove, ulf, vera")
    page.get_by_label("Hur många som måste delta i rösträkningen (k)").fill("2")
    _click_and_wait(page, "Utse nyckelinnehavarna")
    page.screenshot(path=str(shots / "1-hubb-utkast.png"), full_page=True)


def _click_and_wait(page, name: str) -> None:  # type: ignore[no-untyped-def]
    page.get_by_role("button", name=name, exact=True).click()
    page.wait_for_load_state()


def test_a_secret_poll_from_creation_to_a_verified_record_with_a_vote_cast_offline(demo, request, tmp_path) -> None:
    shots = screenshot_dir(request.node.name)
    ange = demo.kiosk_urls["Änge"]
    with chromium_browser() as browser:
        hub = browser.new_page(viewport={"width": 1280, "height": 1000})
        _sign_in(hub, demo)
        _officer_creates_the_poll(hub, demo, shots)

        # The trustees make the election key, each with their own share (the demo plays all three).
        said = demo.cli("trustees", "keygen", POLL)
        assert "Valnyckeln" in said
        hub.reload()
        _click_and_wait(hub, "Öppna omröstningen")
        hub.locator("h1 .tag").get_by_text("Öppen", exact=False).wait_for(timeout=TIMEOUT_MS)
        hub.screenshot(path=str(shots / "2-hubb-oppen.png"), full_page=True)

        # Anna signs in at Änge; the poll reaches the kiosk over the replicated sets.
        screen = browser.new_page(viewport=KIOSK)
        screen.goto(ange + "/")
        insert(screen, "anna")
        screen.get_by_role("heading", name="Skriv din PIN-kod").wait_for(timeout=TIMEOUT_MS)
        type_pin(screen, "123456")
        screen.locator(".key-ok").click()
        screen.get_by_role("heading", name="Välkommen, Anna (1985)").wait_for(timeout=TIMEOUT_MS)

        def poll_at_kiosk() -> bool:
            screen.goto(ange + "/vote")
            return screen.get_by_text(TITLE).count() > 0

        _wait_for(poll_at_kiosk, "the poll to reach the Änge kiosk")

        # The hub goes away; Anna votes anyway.
        demo.cli("hub", "stop")
        try:
            _wait_for(lambda: not _hub_answers(demo.hub_url), "the hub to stop")
            screen.get_by_role("link", name="Rösta").first.click()
            screen.get_by_text("Vid torget").click()
            screen.get_by_role("button", name="Fortsätt").click()
            screen.get_by_role("heading", name="Kontrollera ditt val").wait_for(timeout=TIMEOUT_MS)
            screen.screenshot(path=str(shots / "3-kiosk-kontrollera.png"))
            screen.locator("#cast").click()
            screen.get_by_role("heading", name="Tack – din röst är sparad").wait_for(timeout=TIMEOUT_MS)
            code = screen.locator("#tracking-code").inner_text().strip()
            assert code
            assert screen.locator("img.receipt-qr").count() == 1
            screen.screenshot(path=str(shots / "4-kiosk-kvitto-utan-hubb.png"))
            pull(screen)
            screen.get_by_role("heading", name="Välkommen! Vad vill du göra?").wait_for(timeout=TIMEOUT_MS)
        finally:
            demo.cli("hub", "start")
        _wait_for(lambda: _hub_answers(demo.hub_url), "the hub to start again")

        # From home, on a phone: the receipt's code is on the board, counted.
        phone = browser.new_page(viewport=PHONE)

        def counted_on_board() -> bool:
            phone.goto(f"{demo.hub_url}/val/{POLL}?kod={code}")
            return phone.locator("#lookup.ok").count() > 0

        _wait_for(counted_on_board, "the ballot to reach the hub and be counted on the board")
        phone.screenshot(path=str(shots / "5-telefon-anslagstavla.png"), full_page=True)

        # Closing, two trustees decrypt, publishing.
        hub.reload()
        _click_and_wait(hub, "Stäng omröstningen nu")
        said = demo.cli("trustees", "decrypt", POLL, "--trustee", "tove", "--trustee", "vera")
        assert "räknade" in said
        hub.reload()
        _click_and_wait(hub, "Publicera resultatet")
        hub.screenshot(path=str(shots / "6-hubb-publicerad.png"), full_page=True)

        phone.goto(f"{demo.hub_url}/val/{POLL}")
        phone.locator("svg.chart").wait_for(timeout=TIMEOUT_MS)
        phone.screenshot(path=str(shots / "7-telefon-resultat.png"), full_page=True)
        results = phone.locator("main").inner_text()
        assert "Vid torget" in results and "Vid skolan" in results

        with phone.expect_download() as download:
            phone.get_by_role("link", name="Hämta valprotokollet").click()
        record = tmp_path / "valprotokoll.jsonl"
        download.value.save_as(record)

    verified = subprocess.run(
        [sys.executable, "-m", "tinget.cli", "verify", str(record), "--code", code],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.rstrip().endswith("every check holds"), verified.stdout
    assert f"tracking code {code} is on the board: counted" in verified.stdout
    # Nothing personal on the way: the logs and databases hold no personnummer (SEC-03).
    for path in [*(demo.root / "logs").glob("*.log"), *(p for p in demo.root.rglob("*.db*") if p.is_file())]:
        assert find_personnummer(path.read_bytes()) == [], path
