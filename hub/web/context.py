"""What the views need from the process (settings, database, keys), kept on the Flask app, not in globals."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from hub.db import unit_of_work
from hub.settings import HubSettings
from hub.staff.throttle import ThrottlePolicy

EXTENSION = "tinget_hub"


@dataclass(frozen=True, slots=True)
class HubContext:
    """The hub's process-wide parts, built once by `create_app`."""

    settings: HubSettings
    engine: Engine
    sessions: sessionmaker[Session]
    totp_key: bytes
    policy: ThrottlePolicy


def hub_context() -> HubContext:
    """The running app's `HubContext`."""
    context: HubContext = current_app.extensions[EXTENSION]
    return context


@contextmanager
def work(*, write: bool = True) -> Iterator[Session]:
    """A unit of work on the hub's database (committed at the end of the block, rolled back on error)."""
    with unit_of_work(hub_context().sessions, write=write) as session:
        yield session
