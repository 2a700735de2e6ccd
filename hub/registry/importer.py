"""Importing an existing registry export: CSV or JSON rows, files in a folder; resumable, row by row.

One row is one document; its case is made on first sight (with the export's case number, so numbers carry
over and the series continues after them). Every row is checked and registered in a savepoint: a row that
fails (a missing field, a bad date, a file that is missing, damaged or not what its name says) is rejected
with its reason and the rest goes on. Rows are committed in batches together with the import's progress, so
running the same import again after an interruption starts after the last committed row, and never registers
a row twice. Documents marked published are published, the kiosk catalogue rebuilt once per batch.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from hub.db import unit_of_work, utcnow
from hub.registry import catalogue, service
from hub.registry.models import ImportProgress
from hub.registry.rules import RegistryError, parse_case_number
from hub.registry.store import FileStore

REQUIRED = ("case_number", "case_title", "document_title", "kind", "document_date")
OPTIONAL = (
    "opened_on",
    "counterpart",
    "secrecy",
    "osl_paragraph",
    "personal_data",
    "retention_years",
    "file",
    "published",
)
BATCH = 100
TRUE = {"1", "true", "yes", "ja", "y", "x"}


class ImportError_(Exception):
    """The source itself cannot be read (not CSV/JSON, unknown columns); nothing was imported."""


@dataclass(frozen=True, slots=True)
class Rejected:
    """A row that was not imported, and why."""

    row: int
    reason: str


@dataclass
class ImportReport:
    """What an import run did."""

    source: str
    total: int
    skipped: int = 0  # done by an earlier run
    imported: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    finished: bool = False


def read_rows(path: Path) -> list[dict[str, str]]:
    """The rows of a CSV (header line, comma or semicolon) or JSON (a list of objects) export."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportError_(f"{path.name} is not UTF-8 text") from None
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ImportError_(f"{path.name} is not JSON: {exc}") from None
        if not isinstance(data, list) or not all(isinstance(row, dict) for row in data):
            raise ImportError_(f"{path.name} must hold a list of objects, one per document")
        rows = [{str(k): "" if v is None else str(v) for k, v in row.items()} for row in data]
    else:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;") if text.strip() else csv.excel
        rows = list(csv.DictReader(io.StringIO(text), dialect=dialect))
    unknown = {key for row in rows for key in row if key not in REQUIRED + OPTIONAL}
    if unknown:
        raise ImportError_(f"unknown columns {sorted(unknown)}; known: {', '.join(REQUIRED + OPTIONAL)}")
    return rows


def _date(value: str, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise RegistryError("date", f"{name} {value[:20]!r} is not a date like 2026-03-04") from None


def import_row(
    session: Session,
    row: dict[str, str],
    files: Path,
    store: FileStore,
    *,
    actor: str,
    public_url: str,
    max_bytes: int,
) -> int | None:
    """Register one row; return the chunk of a published document (to rebuild), else None."""
    missing = [name for name in REQUIRED if not (row.get(name) or "").strip()]
    if missing:
        raise RegistryError("missing", f"missing field{'s' if len(missing) > 1 else ''}: {', '.join(missing)}")
    number = str(parse_case_number(row["case_number"]))
    document_date = _date(row["document_date"], "document_date")
    case = service.find_case_by_number(session, number)
    if case is None:
        opened = _date(row["opened_on"], "opened_on") if row.get("opened_on") else document_date
        case = service.register_case(
            session, board=number.split()[0], title=row["case_title"], opened_on=opened, actor=actor, number=number
        )
    retention = (row.get("retention_years") or "").strip()
    if retention and not retention.isdigit():
        raise RegistryError("retention", f"retention_years {retention[:10]!r} is not a whole number of years")
    fields = service.DocumentFields(
        kind=row["kind"].strip(),
        title=row["document_title"],
        document_date=document_date,
        counterpart=row.get("counterpart") or None,
        secrecy=(row.get("secrecy") or "public").strip(),
        osl_paragraph=row.get("osl_paragraph") or None,
        personal_data=(row.get("personal_data") or "").strip().lower() in TRUE,
        retention_years=int(retention) if retention else None,
    )
    upload = None
    name = (row.get("file") or "").strip()
    if name:
        path = (files / name).resolve()
        if files.resolve() not in path.parents or not path.is_file():
            raise RegistryError("file", f"the file {name[:100]!r} is not in the files folder")
        with path.open("rb") as stream, store.receive(stream, name, max_bytes) as extracted:
            upload = extracted
    document = service.add_document(session, case, fields, actor=actor, upload=upload, file_name=name or None)
    if (row.get("published") or "").strip().lower() in TRUE:
        service.set_published(session, document.id, True, actor=actor, public_url=public_url, catalogue_too=False)
        return catalogue.chunk_of(document.id)
    return None


def run_import(
    sessions: sessionmaker[Session],
    source: Path,
    files: Path,
    store: FileStore,
    *,
    actor: str,
    public_url: str,
    max_bytes: int,
    progress: Callable[[int], None] = lambda _n: None,
) -> ImportReport:
    """Import ``source`` (resuming where an earlier run stopped); ``progress`` is told of every row handled."""
    rows = read_rows(source)
    key = hashlib.sha256(source.read_bytes()).hexdigest()
    report = ImportReport(source.name, len(rows))
    with unit_of_work(sessions) as session:
        state = session.get(ImportProgress, key)
        if state is None:
            state = ImportProgress(
                source_sha256=key,
                source_name=source.name[:500],
                next_row=1,
                imported=0,
                rejected=0,
                finished=False,
                updated_at=utcnow(),
            )
            session.add(state)
        start, earlier_imported, earlier_rejected = state.next_row, state.imported, state.rejected
    report.skipped = start - 1
    progress(report.skipped)
    for batch_start in range(start, len(rows) + 1, BATCH):
        batch = list(_numbered(rows, batch_start, BATCH))
        with unit_of_work(sessions) as session:
            chunks: set[int] = set()
            for number, row in batch:
                try:
                    with session.begin_nested():
                        chunk = import_row(
                            session, row, files, store, actor=actor, public_url=public_url, max_bytes=max_bytes
                        )
                    report.imported += 1
                    if chunk is not None:
                        chunks.add(chunk)
                except RegistryError as exc:
                    report.rejected.append(Rejected(number, str(exc)))
                progress(1)
            for chunk in sorted(chunks):
                catalogue.rebuild_chunk(session, chunk)
            if chunks:
                catalogue.publish_catalogue(session, public_url, actor=actor)
            state = session.get(ImportProgress, key)
            assert state is not None
            state.next_row = batch[-1][0] + 1
            state.imported = earlier_imported + report.imported
            state.rejected = earlier_rejected + len(report.rejected)
            state.updated_at = utcnow()
    with unit_of_work(sessions) as session:
        state = session.get(ImportProgress, key)
        assert state is not None
        state.finished = True
    report.finished = True
    return report


def _numbered(rows: list[dict[str, str]], first: int, count: int) -> Iterator[tuple[int, dict[str, str]]]:
    for number in range(first, min(first + count, len(rows) + 1)):
        yield number, rows[number - 1]
