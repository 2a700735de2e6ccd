"""The audit log: append-only, hash-chained, verifiable, exportable (SEC-16)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from hub.audit import log as audit
from hub.audit.chain import AuditError, entry_hash
from hub.db import unit_of_work
from hub.settings import HubSettings
from hub.staff.roles import Role
from tests.hub.helpers import add_member, fresh_sessions, post_form, sign_in, write_config
from tinget.cli import cli


def fill(url: str, count: int) -> None:
    engine, sessions = fresh_sessions(url)
    with unit_of_work(sessions) as session:
        for i in range(count):
            audit.record(session, actor="test", action="test.step", subject=f"ärende {i}", details={"n": i})
    engine.dispose()


def tamper(url: str, sql: str, **params: object) -> None:
    """What an attacker with database access does: switch the append-only triggers off, then change a row."""
    engine, _ = fresh_sessions(url)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_entries DISABLE TRIGGER USER"))
            conn.execute(text(sql), params)
            conn.execute(text("ALTER TABLE audit_entries ENABLE TRIGGER USER"))
        else:
            conn.execute(text("DROP TRIGGER audit_entries_no_update"))
            conn.execute(text("DROP TRIGGER audit_entries_no_delete"))
            conn.execute(text(sql), params)
    engine.dispose()


def report_of(url: str):  # type: ignore[no-untyped-def]
    engine, sessions = fresh_sessions(url)
    with unit_of_work(sessions, write=False) as session:
        report = audit.verify_chain(session)
    engine.dispose()
    return report


def test_an_untouched_log_verifies(hub_db_url: str) -> None:
    """SEC-16: each entry's hash covers it and the one before; an intact chain checks out."""
    fill(hub_db_url, 5)
    report = report_of(hub_db_url)
    assert report.ok and report.count == 5 and len(report.head) == 64


def test_the_database_refuses_to_change_or_delete_an_entry(hub_db_url: str) -> None:
    """SEC-16: append-only is enforced by the database itself, not only by our code."""
    fill(hub_db_url, 2)
    engine, _ = fresh_sessions(hub_db_url)
    for sql in ("UPDATE audit_entries SET actor = 'mallory' WHERE seq = 1", "DELETE FROM audit_entries WHERE seq = 2"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(sql))
    engine.dispose()
    assert report_of(hub_db_url).ok


def test_a_changed_entry_is_named_by_verify(hub_db_url: str) -> None:
    """SEC-16: an UPDATE behind the hub's back breaks the chain at exactly that entry."""
    fill(hub_db_url, 6)
    tamper(hub_db_url, "UPDATE audit_entries SET subject = 'ändrat' WHERE seq = 4")
    report = report_of(hub_db_url)
    assert not report.ok
    assert (report.first_broken, report.problem, report.count) == (4, "contents", 3)


def test_a_removed_entry_is_named_as_missing(hub_db_url: str) -> None:
    """SEC-16: deleting an entry from the middle shows as a gap."""
    fill(hub_db_url, 5)
    tamper(hub_db_url, "DELETE FROM audit_entries WHERE seq = 2")
    report = report_of(hub_db_url)
    assert (report.first_broken, report.problem) == (2, "missing")


def test_an_entry_changed_with_a_recomputed_hash_breaks_the_next_link(hub_db_url: str) -> None:
    """SEC-16: an attacker who knows the algorithm and rehashes the entry is caught by the entry after it."""
    fill(hub_db_url, 4)
    engine, sessions = fresh_sessions(hub_db_url)
    with unit_of_work(sessions, write=False) as session:
        second = next(e for e in audit.stored_entries(session) if not isinstance(e, tuple) and e.seq == 2)
    engine.dispose()
    assert not isinstance(second, tuple)
    forged = entry_hash(
        seq=2,
        at=second.at,
        actor=second.actor,
        action=second.action,
        subject="förfalskat",
        details=second.details,
        prev_hash=second.prev_hash,
    )
    tamper(hub_db_url, "UPDATE audit_entries SET subject = 'förfalskat', hash = :h WHERE seq = 2", h=forged)
    report = report_of(hub_db_url)
    assert (report.first_broken, report.problem) == (3, "link")


def test_audit_verify_on_the_command_line_names_the_broken_entry(hub_db_url: str, tmp_path: Path) -> None:
    """SEC-16: `tinget hub audit verify` says the log is whole, then names entry 3 and exits 1 after tampering."""
    fill(hub_db_url, 4)
    config = write_config(tmp_path, database_url=hub_db_url)
    runner = CliRunner()
    good = runner.invoke(cli, ["hub", "audit", "verify", "--config", str(config)])
    assert good.exit_code == 0, good.output
    assert "Granskningsloggen är hel: 4 poster" in good.output
    tamper(hub_db_url, "UPDATE audit_entries SET details = :d WHERE seq = 3", d='{"n":99}')
    bad = runner.invoke(cli, ["hub", "audit", "verify", "--config", str(config)])
    assert bad.exit_code == 1
    assert "Granskningsloggen är bruten vid post 3: innehållet har ändrats" in bad.output
    assert "Traceback" not in bad.output


def test_an_export_verifies_on_its_own_and_an_edited_line_is_named(hub_db_url: str, tmp_path: Path) -> None:
    """SEC-16: export, then check the file without the database; change one line and the check names it."""
    fill(hub_db_url, 3)
    config = write_config(tmp_path, database_url=hub_db_url)
    export = tmp_path / "audit.jsonl"
    runner = CliRunner()
    done = runner.invoke(cli, ["hub", "audit", "export", "--config", str(config), "--output", str(export)])
    assert done.exit_code == 0, done.output
    lines = export.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3
    assert audit.verify_export(lines).ok
    checked = runner.invoke(cli, ["hub", "audit", "verify", "--file", str(export)])
    assert checked.exit_code == 0 and "hel: 3 poster" in checked.output

    second = json.loads(lines[1])
    second["actor"] = "någon annan"
    lines[1] = json.dumps(second, ensure_ascii=False)
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")
    edited = runner.invoke(cli, ["hub", "audit", "verify", "--file", str(export)])
    assert edited.exit_code == 1 and "bruten vid post 2" in edited.output
    # The export itself is recorded (after the three entries it exported).
    assert report_of(hub_db_url).count == 4


def test_writers_at_the_same_time_keep_one_unbroken_chain(hub_db_url: str) -> None:
    """SEC-16: concurrent appends are serialised; no two entries chain onto the same predecessor."""
    engine, sessions = fresh_sessions(hub_db_url)
    errors: list[BaseException] = []

    def writer(name: str) -> None:
        try:
            for i in range(10):
                with unit_of_work(sessions) as session:
                    audit.record(session, actor=name, action="test.concurrent", details={"i": i})
        except BaseException as exc:  # collected and re-raised in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(f"w{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    engine.dispose()
    assert not errors
    report = report_of(hub_db_url)
    assert report.ok and report.count == 40


def test_details_that_name_a_secret_are_refused(hub_db_url: str) -> None:
    """SEC-20: code that tries to log a password, PIN or code into the audit log fails loudly."""
    engine, sessions = fresh_sessions(hub_db_url)
    for key in ("password", "PIN", "code", "personnummer"):
        with pytest.raises(AuditError), unit_of_work(sessions) as session:
            audit.record(session, actor="test", action="test.secret", details={"nested": {key: "x"}})
    engine.dispose()


def test_the_audit_page_shows_the_log_and_the_verify_result(app: Flask, client: FlaskClient) -> None:
    """SEC-16: staff with the admin or IT role read the log page by page and check the chain in the browser."""
    secret = add_member(app, "it-anna", Role.IT)
    sign_in(client, "it-anna", secret)
    fill(app.extensions["tinget_hub"].settings.database_url, 60)
    page = client.get("/admin/audit").data.decode()
    assert "62 poster totalt." in page and "Sida 1 av 2" in page and "test.step" in page
    assert "Sida 2 av 2" in client.get("/admin/audit?page=2").data.decode()
    verified = post_form(client, "/admin/audit/verify", {}, page="/admin/audit")
    assert "Granskningsloggen är hel: 62 poster." in verified.data.decode()

    tamper(app.extensions["tinget_hub"].settings.database_url, "UPDATE audit_entries SET actor = 'x' WHERE seq = 7")
    broken = post_form(client, "/admin/audit/verify", {}, page="/admin/audit").data.decode()
    assert "Granskningsloggen är bruten vid post 7: innehållet har ändrats efter att posten skrevs" in broken


def test_settings_fixture_is_production_like(settings: HubSettings) -> None:
    """The hub tests run without demo mode, with a real secret key file."""
    assert not settings.demo_mode and settings.secret_key_file and settings.secret_key_file.exists()
