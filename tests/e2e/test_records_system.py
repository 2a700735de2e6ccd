"""The public records, end to end in `make demo`, through Debian's chromium: a registrar registers and publishes a
case with a PDF at the hub, a resident finds it at the Föllinge kiosk by a word from inside the PDF (also with the
hub stopped), opens it on a phone through the QR code, asks for a secret document that then sits in the
registrar's queue, and the open-data API serves it.

Screenshots land in test-output/e2e/<test name>/.
"""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.parse
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.e2e.browser import chromium_browser, screenshot_dir
from tinget.samplepdf import make_pdf

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

KIOSK = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
WORD = "renskötselområdet"  # inside the PDF only, nowhere in its title
WAIT = 60.0


def _children_groups(parent: int) -> dict[str, int]:
    """The demo's child processes by what they run (their process groups: each child leads its own)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if int(stat[1]) == parent:
            for name in ("hub serve", "hub ingest", "hub device-api"):
                if name in cmdline:
                    found[name] = int(entry.name)
    return found


@contextmanager
def hub_stopped(demo):  # type: ignore[no-untyped-def]
    """The hub's web, ingest and device API frozen (SIGSTOP to their process groups), then let go again."""
    groups = _children_groups(demo.process.pid)
    assert set(groups) == {"hub serve", "hub ingest", "hub device-api"}, groups
    for pid in groups.values():
        os.killpg(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in groups.values():
            os.killpg(pid, signal.SIGCONT)


def _wait_for(check, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def _sign_in(page, demo) -> None:  # type: ignore[no-untyped-def]
    page.goto(demo.hub_url + "/admin/")
    page.get_by_label("Användarnamn").fill("demo")
    page.get_by_label("Lösenord").fill(demo.password)
    page.get_by_role("button", name="Fortsätt").click()
    page.get_by_label("Engångskod").fill(demo.cli("code"))
    page.get_by_role("button", name="Logga in").click()
    page.wait_for_load_state()


def _register_document(page, pdf: Path, title: str, secret: bool = False) -> None:  # type: ignore[no-untyped-def]
    page.get_by_label("Typ", exact=True).select_option("decision" if not secret else "incoming")
    page.get_by_label("Rubrik", exact=True).fill(title)
    page.get_by_label("Handlingens datum").fill("2026-03-04")
    if secret:
        page.get_by_label("Sekretess", exact=True).select_option("secret")
        page.get_by_label("Paragraf i OSL (t.ex. 26 kap. 1 §)").fill("26 kap. 1 §")
    page.get_by_label("Fil (PDF, Word, OpenDocument eller text)").set_input_files(str(pdf))
    page.get_by_role("button", name="Registrera handlingen").click()
    page.wait_for_load_state()


def test_a_published_pdf_is_found_at_follinge_offline_opened_on_a_phone_asked_for_and_served_as_open_data(
    demo, request, tmp_path
) -> None:
    shots = screenshot_dir(request.node.name)
    pdf = tmp_path / "beslut.pdf"
    pdf.write_bytes(make_pdf([["Kommunstyrelsen beslutar om vägen genom", f"{WORD} norr om Föllinge."]]))
    secret_pdf = tmp_path / "utredning.pdf"
    secret_pdf.write_bytes(make_pdf([["Utredning om en enskild person."]]))
    kiosk = demo.kiosk_urls["Föllinge"]
    with chromium_browser() as browser:
        hub = browser.new_page(viewport={"width": 1280, "height": 1000})
        _sign_in(hub, demo)
        hub.get_by_role("link", name="Diarium").first.click()
        hub.get_by_label("Nämnd (t.ex. KS)").fill("KS")
        hub.get_by_label("Ärendemening").fill("Väg genom renskötselområde")
        hub.get_by_label("Upprättat den").fill("2026-03-02")
        hub.get_by_role("button", name="Registrera ärendet").click()
        hub.wait_for_load_state()
        _register_document(hub, pdf, "Beslut om vägdragning")
        _register_document(hub, secret_pdf, "Utredning om enskild", secret=True)
        for _document in range(2):
            hub.get_by_role("button", name="Publicera", exact=True).first.click()
            hub.wait_for_load_state()
        hub.screenshot(path=str(shots / "1-hubb-registrerat-och-publicerat.png"), full_page=True)
        assert hub.locator("span.tag", has_text="Publicerad").count() == 2

        # The kiosk in Föllinge learns of it over MQTT, fetches the chunk and the file over mTLS.
        screen = browser.new_page(viewport=KIOSK)

        def found_at_kiosk() -> bool:
            screen.goto(kiosk + "/documents?q=" + urllib.parse.quote(WORD))
            return screen.locator("ol.results a.result").count() > 0

        _wait_for(found_at_kiosk, "the document to reach the Föllinge kiosk")
        with hub_stopped(demo):
            screen.goto(kiosk + "/")
            screen.get_by_role("link", name="Sök handlingar").click()
            screen.wait_for_load_state()
            for letter in WORD[:8]:
                screen.locator(f'.key[data-key="{letter}"]').click()
            screen.locator("#suggestions .suggestion").first.wait_for()
            screen.screenshot(path=str(shots / "2-kiosk-tangentbord-och-forslag.png"))
            screen.locator("#q").fill(WORD)
            screen.get_by_role("button", name="Sök", exact=True).first.click()
            screen.wait_for_load_state()
            assert WORD in [mark.lower() for mark in screen.locator("mark").all_inner_texts()]
            screen.screenshot(path=str(shots / "3-kiosk-traff-utan-hubb.png"))
            screen.locator("ol.results a.result", has_text="Beslut om vägdragning").click()
            screen.wait_for_load_state()

            def page_shown() -> bool:
                screen.reload()
                return screen.locator("img.page").count() == 1

            _wait_for(page_shown, "the file to be in the kiosk's cache")
            screen.get_by_role("link", name="200 %").click()
            screen.wait_for_load_state()
            assert screen.locator("img.page").evaluate("img => img.complete && img.naturalWidth > 0")
            screen.screenshot(path=str(shots / "4-kiosk-visare-200-procent.png"))
            link = screen.locator("img.qr").get_attribute("data-link")
            qr_src = screen.locator("img.qr").get_attribute("src")
        from kiosk.records.pages import qr_data_uri

        assert qr_src == qr_data_uri(link), "the QR code encodes the link shown beside it"
        assert link.startswith(demo.hub_url + "/documents/")

        phone = browser.new_page(viewport=PHONE, is_mobile=True, has_touch=True)
        phone.goto(link)
        assert phone.get_by_role("heading", name="Beslut om vägdragning").is_visible()
        phone.screenshot(path=str(shots / "5-telefon-via-qr.png"), full_page=True)
        with urllib.request.urlopen(link + "/file", timeout=10) as answer:  # noqa: S310 - the local demo
            assert answer.read(5) == b"%PDF-"

        # The secret document: listed at the kiosk without its title; asked for, anonymously.
        screen.goto(kiosk + "/documents?q=" + urllib.parse.quote("KS 2026"))
        screen.get_by_text("Sekretessbelagd handling").first.click()
        screen.wait_for_load_state()
        assert "Utredning om enskild" not in screen.content()
        screen.get_by_role("link", name="Begär ut handlingen").click()
        screen.wait_for_load_state()
        screen.get_by_role("button", name="Skicka begäran").click()
        screen.wait_for_load_state()
        reference = screen.locator(".message .lead").inner_text().split(":")[-1].strip()
        screen.screenshot(path=str(shots / "6-kiosk-begaran-sparad.png"))

        def in_queue() -> bool:
            hub.goto(demo.hub_url + "/admin/registry/requests")
            return hub.locator(f"#request-{reference}").count() == 1

        _wait_for(in_queue, f"request {reference} in the registrar's queue")
        assert "kiosk follinge" in hub.locator(f"#request-{reference}").inner_text()
        hub.screenshot(path=str(shots / "7-hubb-registratorns-ko.png"), full_page=True)

    with urllib.request.urlopen(demo.hub_url + "/api/v1/documents?q=" + urllib.parse.quote(WORD), timeout=10) as r:  # noqa: S310
        api = json.load(r)
    served = {d["number"]: d for d in api["documents"]}
    public = next(d for d in served.values() if d["title"] == "Beslut om vägdragning")
    assert public["file"]["url"].endswith("/file")
    assert all(d["title"] == "" and d["file"] is None for d in served.values() if d["secrecy"] == "secret")
