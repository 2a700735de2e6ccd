"""The kiosk's web UI: one blueprint per area, assembled by `kiosk.app.create_app`. Views stay thin."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from kiosk.eid.service import CardService
from kiosk.settings import KioskSettings

EXTENSION_KEY = "tinget.kiosk"


@dataclass(frozen=True)
class KioskRuntime:
    """What the views need from the process: its settings, its database and the card service."""

    settings: KioskSettings
    engine: Engine
    sessions: sessionmaker[Session]
    card_service: CardService


def runtime() -> KioskRuntime:
    """The current app's `KioskRuntime` (inside a request or app context)."""
    runtime: KioskRuntime = current_app.extensions[EXTENSION_KEY]
    return runtime
