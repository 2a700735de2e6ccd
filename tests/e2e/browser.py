"""Playwright driving Debian's chromium, and a place for each test's screenshots."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu", "--disable-component-update"]
OUTPUT_ROOT = Path(__file__).resolve().parents[2] / "test-output" / "e2e"


def screenshot_dir(node_name: str) -> Path:
    """The folder under ``test-output/e2e/`` where a test saves its screenshots."""
    folder = OUTPUT_ROOT / re.sub(r"[^A-Za-z0-9_.-]+", "_", node_name)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@contextmanager
def chromium_browser() -> Iterator[object]:
    """A headless Debian chromium under Playwright, closed on exit."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
