"""The demo's "insert a test card" panel: virtual cards put into and pulled from this kiosk's virtual reader.

Only in demo mode, and only when the demo gave the kiosk a virtual reader port and a folder of test cards
(`tinget demo` does). A tap inserts that card through the real PC/SC stack (vpcd → pcscd → the card service),
so the demo goes through exactly what a physical card would.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from flask import Blueprint, Flask, abort, current_app, redirect, request, url_for
from werkzeug.wrappers import Response

from kiosk.card.emulator import VirtualCard
from kiosk.card.model import model_from_file
from kiosk.settings import KioskSettings
from kiosk.visit import safe_next_path
from protocol.testcard import CardFileError, read_test_card

log = logging.getLogger(__name__)
bp = Blueprint("demo_cards", __name__)
EXTENSION_KEY = "tinget.demo_cards"


@dataclass(frozen=True)
class DemoCard:
    """A test card the panel offers: its file's stem (the id in URLs) and its label."""

    slug: str
    label: str
    path: Path


class DemoCardSlot:
    """This kiosk's virtual reader with the demo's test cards; one card in it at a time."""

    def __init__(self, port: int, cards_dir: Path) -> None:
        self.port, self.cards_dir = port, cards_dir
        self._cards: dict[str, VirtualCard] = {}  # kept, so a card remembers its PIN tries between insertions
        self.inserted: str | None = None
        self._lock = threading.Lock()

    def cards(self) -> list[DemoCard]:
        """The test cards in the folder, by label."""
        found = []
        for path in sorted(self.cards_dir.glob("*.json")):
            try:
                found.append(DemoCard(path.stem, read_test_card(path).label, path))
            except CardFileError as exc:
                log.warning("demo card skipped", extra={"file": path.name, "error": str(exc)})
        return found

    def insert(self, slug: str) -> None:
        """Pull whatever card is in, then put card ``slug`` in."""
        card = next((c for c in self.cards() if c.slug == slug), None)
        if card is None:
            raise KeyError(slug)
        with self._lock:
            self._pull()  # the emulator waits a moment before the next card goes into the same reader
            virtual = self._cards.get(slug)
            if virtual is None:
                virtual = self._cards[slug] = VirtualCard(model_from_file(read_test_card(card.path)), self.port)
            virtual.insert()
            self.inserted = slug

    def remove(self) -> None:
        """Pull the card out (if one is in)."""
        with self._lock:
            self._pull()

    def _pull(self) -> None:
        if self.inserted is not None:
            self._cards[self.inserted].remove()
            self.inserted = None


def slot() -> DemoCardSlot:
    """The app's demo card slot."""
    found: DemoCardSlot = current_app.extensions[EXTENSION_KEY]
    return found


@bp.app_context_processor
def _panel() -> dict[str, object]:
    demo = slot()
    return {"demo_cards": demo.cards(), "demo_card_inserted": demo.inserted}


@bp.post("/demo/card/insert/<slug>")
def insert(slug: str) -> Response:
    """Insert test card ``slug`` into this kiosk's virtual reader."""
    try:
        slot().insert(slug)
    except KeyError:
        abort(404)
    except OSError as exc:
        log.error("demo card could not be inserted", extra={"error": str(exc)})
        abort(503)
    return redirect(safe_next_path(request.form.get("next"), url_for("start.index")), 303)


@bp.post("/demo/card/remove")
def remove() -> Response:
    """Pull the test card out of the reader."""
    slot().remove()
    return redirect(safe_next_path(request.form.get("next"), url_for("start.index")), 303)


def register_demo_cards(app: Flask, settings: KioskSettings) -> bool:
    """Add the panel to ``app`` when the settings ask for it (demo mode with a reader port and a card folder)."""
    if not (settings.demo_mode and settings.demo_vpcd_port and settings.demo_cards_dir):
        return False
    app.extensions[EXTENSION_KEY] = DemoCardSlot(settings.demo_vpcd_port, settings.demo_cards_dir)
    app.register_blueprint(bp)
    return True
