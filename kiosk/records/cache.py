"""The kiosk's file cache: a size-bounded set of documents' files, the most viewed and most recent first.

Order of priority: files someone asked for while they were missing, then by views, then by the document's
date (newest first). The cache holds files from the top of that list while they fit in
``records_cache_bytes``; one that falls out of it is deleted. The UI only reads the cache (`is_cached`,
`file_path`) and counts views (`record_view`); fetching is the sync agent's (`fill`), never the UI's.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, func, select, update
from sqlalchemy.dialects.sqlite import insert
from sqlalchemy.orm import Session

from kiosk.records.models import CachedFile, DocumentRow
from kiosk.records.transfer import HubLink, TransferError
from kiosk.settings import KioskSettings
from kiosk.store import make_session_factory

log = logging.getLogger(__name__)

FILE_PATH = "/device/v1/files/"
FILES_PER_FILL = 50  # then the worker looks at the catalogue again before going on


def files_dir(settings: KioskSettings) -> Path:
    """Where cached files live."""
    return settings.data_dir / "files"


def file_path(settings: KioskSettings, sha256: str) -> Path:
    """A cached file's path (it may not exist)."""
    return files_dir(settings) / sha256


def is_cached(session: Session, settings: KioskSettings, sha256: str) -> bool:
    """Whether the file is here to show."""
    present = session.scalar(select(CachedFile.present).where(CachedFile.sha256 == sha256))
    return bool(present) and file_path(settings, sha256).is_file()


def record_view(session: Session, sha256: str, *, missing: bool) -> None:
    """Count a view (in the caller's transaction); a missing file becomes wanted."""
    now = datetime.now(UTC)
    statement = insert(CachedFile).values(sha256=sha256, views=1, last_viewed_at=now, wanted=missing, present=False)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["sha256"],
            set_={
                "views": CachedFile.views + 1,
                "last_viewed_at": now,
                "wanted": CachedFile.wanted | statement.excluded.wanted,
            },
        )
    )


def plan(session: Session, budget: int) -> tuple[list[tuple[str, int]], list[str]]:
    """(files to hold, in priority order, with their sizes; files to evict)."""
    stats = {row.sha256: row for row in session.scalars(select(CachedFile))}
    rows = session.execute(
        select(DocumentRow.file_sha256, func.max(DocumentRow.file_size), func.max(DocumentRow.doc_date))
        .where(DocumentRow.file_sha256.is_not(None))
        .group_by(DocumentRow.file_sha256)
    )
    # The WHERE leaves no None hash, but a nullable column's type cannot know it; a document's size may be None.
    candidates = [(sha256, size, date) for sha256, size, date in rows if sha256 is not None]

    def priority(row: tuple[str, int | None, str]) -> tuple[int, int, str]:
        stat = stats.get(row[0])
        return (int(bool(stat and stat.wanted)), stat.views if stat else 0, row[2])

    keep: list[tuple[str, int]] = []
    used = 0
    for sha256, size, _date in sorted(candidates, key=priority, reverse=True):
        if size and used + size <= budget:
            keep.append((sha256, size))
            used += size
    kept = {sha for sha, _ in keep}
    evict = [sha for sha, stat in stats.items() if stat.present and sha not in kept]
    return keep, evict


def fill(engine: Engine, settings: KioskSettings, link: HubLink | None = None) -> tuple[int, bool]:
    """Fetch missing files that fit the budget and evict the rest; (files fetched, whether to retry later)."""
    sessions = make_session_factory(engine)
    with sessions() as session:
        keep, evict = plan(session, settings.records_cache_bytes)
        present = set(session.scalars(select(CachedFile.sha256).where(CachedFile.present.is_(True))))
    for sha256 in evict:
        file_path(settings, sha256).unlink(missing_ok=True)
        with sessions.begin() as session:
            session.execute(update(CachedFile).where(CachedFile.sha256 == sha256).values(present=False))
    missing = [(sha, size) for sha, size in keep if sha not in present or not file_path(settings, sha).is_file()]
    own_link = link is None
    link = link or HubLink(settings)
    fetched, retry = 0, False
    try:
        for sha256, size in missing[:FILES_PER_FILL]:
            try:
                got = link.fetch_file(FILE_PATH + sha256, sha256, file_path(settings, sha256), size + 1)
                values = {
                    "present": True,
                    "wanted": False,
                    "size": got,
                    "fetched_at": datetime.now(UTC),
                    "last_error": None,
                }
                fetched += 1
            except TransferError as exc:
                values = {"last_error": str(exc)[:500]}
                retry = retry or exc.retry
                if exc.retry:
                    break  # the hub is away: stop for now
            with sessions.begin() as session:
                statement = insert(CachedFile).values(sha256=sha256, views=0, **{"present": False, **values})
                session.execute(statement.on_conflict_do_update(index_elements=["sha256"], set_=values))
    finally:
        if own_link:
            link.close()
    if fetched or evict:
        log.info("file cache updated", extra={"fetched": fetched, "evicted": len(evict)})
    return fetched, retry or len(missing) > FILES_PER_FILL
