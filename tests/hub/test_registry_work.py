"""The registrar's other work at the hub: import of an existing registry, retention, kiosk requests via the ingest."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from hub.audit import log as audit_log
from hub.db import unit_of_work
from hub.ingest.handlers import ActionContext, ActionRefused, default_handlers
from hub.registry import importer, requests, retention
from hub.registry.models import Case, Document, DocumentRequest, Weeding
from protocol.records import new_reference
from tests.hub.helpers import fresh_sessions, write_config
from tests.hub.registry_helpers import PUBLIC_URL, register_with_pdf, store_in
from tinget.cli import cli
from tinget.samplepdf import make_pdf

HEADER = "case_number,case_title,document_title,kind,document_date,file,published,secrecy,osl_paragraph\n"


@pytest.fixture
def sessions(hub_db_url: str) -> sessionmaker[Session]:
    engine, factory = fresh_sessions(hub_db_url)
    yield factory
    engine.dispose()


def export(folder: Path, lines: list[str]) -> Path:
    (folder / "protokoll.pdf").write_bytes(make_pdf([["Protokoll om fiskevården i Hotagen."]]))
    (folder / "lies.pdf").write_bytes(b"PK\x03\x04 not a pdf")
    source = folder / "export.csv"
    source.write_text(HEADER + "\n".join(lines) + "\n", encoding="utf-8")
    return source


ROWS = [
    "KS 2019/12,Fiskevård i Hotagen,Protokoll om fiskevård,minutes,2019-05-02,protokoll.pdf,ja,,",
    "KS 2019/12,Fiskevård i Hotagen,Yttrande,outgoing,2019-05-20,,nej,,",
    "KS 2019/13,,Saknar ärendemening,decision,2019-06-01,,,,",
    "KS 2019/14,Ljugande fil,Beslut,decision,2019-06-01,lies.pdf,ja,,",
    "KS 2019/15,Felaktigt datum,Beslut,decision,första juni,,,,",
    "BN 2019/3,Sekretess,Utredning,incoming,2019-07-01,,ja,secret,26 kap. 1 §",
]


def test_an_import_reports_every_rejected_row_imports_the_rest_and_resumes_without_doubles(sessions, tmp_path) -> None:
    source = export(tmp_path, ROWS)
    store = store_in(tmp_path)
    report = importer.run_import(
        sessions, source, tmp_path, store, actor="cli:test", public_url=PUBLIC_URL, max_bytes=10**7
    )
    assert report.imported == 3
    assert [(r.row, r.reason) for r in report.rejected] == [
        (3, "missing field: case_title"),
        (4, "the file is called .pdf but is really an unknown or unsupported kind of file"),
        (5, "document_date 'första juni' is not a date like 2026-03-04"),
    ]
    again = importer.run_import(
        sessions, source, tmp_path, store, actor="cli:test", public_url=PUBLIC_URL, max_bytes=10**7
    )
    assert again.skipped == 6 and again.imported == 0
    with unit_of_work(sessions, write=False) as session:
        assert session.scalar(select(func.count()).select_from(Document)) == 3
        numbers = set(session.scalars(select(Case.number)))
    assert numbers == {"KS 2019/12", "BN 2019/3"}  # a rejected row leaves no case behind


def test_an_interrupted_import_resumes_after_the_last_committed_batch(sessions, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(importer, "BATCH", 2)
    rows = [f"KS 2020/{i},Ärende {i},Handling {i},memo,2020-01-0{1 + i % 9},,ja,," for i in range(1, 8)]
    source = export(tmp_path, rows)
    real = importer.import_row
    calls = {"n": 0}

    def dies_at_five(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt  # Ctrl-C in the middle of the third batch
        return real(*args, **kwargs)

    monkeypatch.setattr(importer, "import_row", dies_at_five)
    with pytest.raises(KeyboardInterrupt):
        importer.run_import(
            sessions, source, tmp_path, store_in(tmp_path), actor="t", public_url=PUBLIC_URL, max_bytes=10**7
        )
    monkeypatch.setattr(importer, "import_row", real)
    report = importer.run_import(
        sessions, source, tmp_path, store_in(tmp_path), actor="t", public_url=PUBLIC_URL, max_bytes=10**7
    )
    assert report.skipped == 4 and report.imported == 3
    with unit_of_work(sessions, write=False) as session:
        assert session.scalar(select(func.count()).select_from(Document)) == 7


def test_the_import_command_shows_progress_and_writes_the_rejections(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    config = write_config(tmp_path, database_url=url)
    runner = CliRunner()
    assert runner.invoke(cli, ["hub", "db", "upgrade", "--config", str(config)]).exit_code == 0
    source = export(tmp_path, ROWS)
    result = runner.invoke(cli, ["hub", "registry", "import", str(source), "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "Importerade 3 handlingar, avvisade 3 rader av 6." in result.output
    assert "rad 3: missing field: case_title" in (tmp_path / "export.csv.rejected.txt").read_text(encoding="utf-8")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"case_number": "KS 2020/1", "colour": "red"}]), encoding="utf-8")
    result = runner.invoke(cli, ["hub", "registry", "import", str(bad), "--config", str(config)])
    assert result.exit_code == 1 and "unknown columns ['colour']" in result.output


def test_weeding_lists_what_is_due_and_removes_only_what_the_registrar_confirms(sessions, tmp_path) -> None:
    store = store_in(tmp_path)
    with unit_of_work(sessions) as session:
        old, _ = register_with_pdf(session, store, ["Gammal ansökan"], day=dt.date(2015, 3, 1))
        keep, _ = register_with_pdf(session, store, ["Nyare ansökan"], day=dt.date(2025, 3, 1))
        for doc_id in (old, keep):
            session.get(Document, doc_id).retention_years = 2
        due = retention.due_documents(session, dt.date(2026, 6, 1))
    assert [d.id for d, _case, _ended in due] == [old]
    with pytest.raises(Exception, match="not due"), unit_of_work(sessions) as session:
        retention.weed(
            session,
            [keep],
            reason="Gallringsbeslut KS 2020/5",
            actor="rut",
            public_url=PUBLIC_URL,
            today=dt.date(2026, 6, 1),
        )
    with unit_of_work(sessions) as session:
        orphans = retention.weed(
            session,
            [old],
            reason="Gallringsbeslut KS 2020/5",
            actor="rut",
            public_url=PUBLIC_URL,
            today=dt.date(2026, 6, 1),
        )
    assert len(orphans) == 1
    with unit_of_work(sessions, write=False) as session:
        assert session.get(Document, old) is None and session.get(Document, keep) is not None
        (record,) = session.scalars(select(Weeding)).all()
        assert record.reason == "Gallringsbeslut KS 2020/5" and record.weeded_by == "rut"
        assert "registry.document_weeded" in [e.action for e in audit_log.latest_entries(session, page=1, per_page=5)]


def test_a_kiosk_request_becomes_a_queued_request_and_a_malformed_one_is_refused(sessions, tmp_path) -> None:
    handler = default_handlers().find("document-request")
    assert handler is not None
    with unit_of_work(sessions) as session:
        doc_id, number = register_with_pdf(session, store_in(tmp_path), ["x"], secrecy="secret", osl="26 kap. 1 §")
    reference = new_reference()
    context = ActionContext(
        "follinge",
        "019b78ff-f900-70a2-9f2e-3d4c5b6a8a99",
        "document-request",
        1_767_000_000_000,
        {"reference": reference, "document_id": doc_id, "case_number": number, "description": ""},
    )
    with unit_of_work(sessions) as session:
        handler(session, context)
    with unit_of_work(sessions, write=False) as session:
        (queued,) = requests.open_requests(session)
    assert queued.reference == reference and queued.device_id == "follinge" and queued.channel == "kiosk"
    assert queued.due_at > queued.received_at
    for body in (
        {"reference": "nope"},
        {"reference": new_reference(), "document_id": "7"},
        {"reference": new_reference(), "extra": 1},
    ):
        bad = ActionContext("follinge", context.msg_id, "document-request", context.created_at_ms, body)
        with pytest.raises(ActionRefused), unit_of_work(sessions) as session:
            handler(session, bad)
    with unit_of_work(sessions) as session:
        requests.handle_request(session, queued.id, "granted", "Skickat med post", actor="rut")
    with unit_of_work(sessions, write=False) as session:
        assert requests.open_requests(session) == []
        assert session.get(DocumentRequest, queued.id).status == "granted"
