"""Kiosk fixtures: a migrated SQLite file per test, the app on it, and a test client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from flask import Flask
    from flask.testing import FlaskClient

    from kiosk.settings import KioskSettings

TRANSLATIONS = Path(__file__).resolve().parents[2] / "kiosk" / "translations"


@pytest.fixture(scope="session", autouse=True)
def compiled_catalogs() -> None:
    """Compile any kiosk catalog whose .mo is missing or older than its .po (setup.sh normally has)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            with po.open("rb") as fh:
                catalog = read_po(fh, locale=po.parts[-3])
            with mo.open("wb") as fh:
                write_mo(fh, catalog)


@pytest.fixture
def kiosk_settings(tmp_path: Path) -> KioskSettings:
    """Settings for the Änge kiosk with everything under ``tmp_path`` (a fresh SQLite file per test)."""
    from kiosk.settings import load_kiosk_settings

    return load_kiosk_settings(device_id="ange", office_name="Änge", data_dir=tmp_path / "kiosk", demo_mode=True)


@pytest.fixture
def app(kiosk_settings: KioskSettings) -> Iterator[Flask]:
    """The kiosk app on a freshly migrated database."""
    from kiosk.app import create_app
    from kiosk.store import make_engine, upgrade
    from kiosk.web import runtime

    engine = make_engine(kiosk_settings.database)
    upgrade(engine, kiosk_settings.device_id)
    engine.dispose()
    app = create_app(kiosk_settings)
    yield app
    with app.app_context():
        runtime().engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A browser on the kiosk: keeps the visit's cookie between requests."""
    return app.test_client()
