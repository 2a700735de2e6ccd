"""Notice at once when anyone commits to the kiosk database, without querying the outbox in a tight loop.

The UI process writes outbox rows; the sync agent is another process. SQLite's ``PRAGMA data_version`` changes on a
connection whenever another connection has committed to the file, and reading it costs next to nothing (it looks
at the WAL index in shared memory), so the agent can look every few milliseconds and query the outbox only when
something changed. That keeps the delay from "confirmed" to "sent" to a few milliseconds.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path


class CommitWatch:
    """One private connection to the kiosk database, used only to read ``data_version``."""

    def __init__(self, database: Path) -> None:
        self._connection = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
        self._connection.execute("PRAGMA busy_timeout = 1000")
        self._seen: int | None = None

    def changed(self) -> bool:
        """True if some connection committed since the last call (and on the first call)."""
        version: int
        (version,) = self._connection.execute("PRAGMA data_version").fetchone()
        fresh = version != self._seen
        self._seen = version
        return fresh

    def close(self) -> None:
        """Close the private connection."""
        self._connection.close()
