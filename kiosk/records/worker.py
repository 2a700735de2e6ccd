"""The records work of the sync agent, in a thread of its own: catalogue sync and the file cache.

A sync of 100,000 documents takes seconds and a file may take longer; the agent's loop must keep draining
the outbox meanwhile, so this runs beside it with its own database engine (SQLite WAL lets both write). The
agent calls `wake` when a ``catalogue`` notice arrived; the thread also looks every `POLL_SECONDS` for files
a resident asked for, and tries again after a failure.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import select

from kiosk.records import cache, catalogue
from kiosk.records.models import CachedFile
from kiosk.records.transfer import HubLink
from kiosk.settings import KioskSettings
from kiosk.store import make_engine, make_session_factory
from protocol.settings import ConfigError

log = logging.getLogger(__name__)

POLL_SECONDS = 10.0  # how soon a file a resident asked for is fetched
REFILL_SECONDS = 300.0  # the whole cache is planned again this often
RETRY_SECONDS = 30.0


class RecordsWorker(threading.Thread):
    """Catalogue sync and cache filling until `stop`."""

    def __init__(self, settings: KioskSettings) -> None:
        super().__init__(name="records", daemon=True)
        self.settings = settings
        self._wake = threading.Event()
        self._halt = threading.Event()
        self._due = True

    def wake(self) -> None:
        """Something changed (a new catalogue version): work now."""
        self._due = True
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop and wait for the thread."""
        self._halt.set()
        self._wake.set()
        if self.is_alive():
            self.join(timeout)

    def run(self) -> None:
        """The thread's loop."""
        engine = make_engine(self.settings.database)
        sessions = make_session_factory(engine)
        wait = 0.0
        try:
            while not self._halt.is_set():
                self._wake.wait(wait)
                self._wake.clear()
                if self._halt.is_set():
                    break
                with sessions() as session:
                    wanted = session.scalar(select(CachedFile.sha256).where(CachedFile.wanted.is_(True)).limit(1))
                if not (self._due or wanted):
                    wait = POLL_SECONDS
                    continue
                wait = self._work(engine)
        finally:
            engine.dispose()

    def _work(self, engine) -> float:  # type: ignore[no-untyped-def]
        self._due = False
        try:
            link = HubLink(self.settings)
        except ConfigError as exc:
            log.error("records: the device cannot reach the hub", extra={"reason": str(exc)})
            return REFILL_SECONDS
        try:
            report = catalogue.sync(engine, self.settings, link)
            _fetched, retry = cache.fill(engine, self.settings, link)
        except Exception:  # the thread's edge: a bug here must not end records work for good
            log.exception("records work failed; trying again later")
            retry = True
        else:
            retry = retry or report.retry or bool(report.failed)
        finally:
            link.close()
        if retry:
            self._due = True
            return RETRY_SECONDS
        return POLL_SECONDS
