"""Staff accounts: the admin page and `tinget hub user add` (SEC-16, SEC-18, SEC-20)."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from hub.audit.models import AuditEntryRow
from hub.db import unit_of_work
from hub.staff.roles import Role
from tests.hub.helpers import PASSWORD, add_member, fresh_sessions, hub_of, post_form, sign_in, write_config
from tinget.cli import cli

NEW = {
    "username": "bertil",
    "display_name": "Bertil Registrator",
    "password": "ett långt lösenord för bertil",
    "password_again": "ett långt lösenord för bertil",
    "roles": ["registrar", "staff"],
}


def test_an_admin_adds_a_staff_member_who_can_then_sign_in(app: Flask, client: FlaskClient) -> None:
    """SEC-18: the new account's TOTP secret is shown once, and it works for the second factor."""
    secret = add_member(app, "admin", Role.ADMIN)
    sign_in(client, "admin", secret)
    listing = client.get("/admin/staff").data.decode()
    assert "Lägg till en medarbetare" in listing and "Registrator" in listing
    created = post_form(client, "/admin/staff", NEW)
    page = created.data.decode()
    assert created.status_code == 200
    assert "Kontot är skapat: bertil" in page and "Den visas bara en gång." in page
    assert 'src="data:image/svg+xml;base64,' in page
    assert created.headers["Cache-Control"] == "no-store"
    new_secret = re.search(r'<code class="secret">([A-Z2-7]{32})</code>', page)
    assert new_secret
    assert "bertil" in client.get("/admin/staff").data.decode()

    other = app.test_client()
    response = sign_in(other, "bertil", new_secret.group(1), password=NEW["password"])
    assert response.status_code == 302
    assert "Välkommen, Bertil Registrator" in other.get("/admin/").data.decode()


def test_adding_a_staff_member_is_audited_without_the_password(app: Flask, client: FlaskClient) -> None:
    """SEC-16, SEC-20: who added whom with which roles is recorded; the password and secret are not."""
    secret = add_member(app, "admin", Role.ADMIN)
    sign_in(client, "admin", secret)
    page = post_form(client, "/admin/staff", NEW).data.decode()
    totp_secret = re.search(r'<code class="secret">([A-Z2-7]{32})</code>', page)
    assert totp_secret
    with unit_of_work(hub_of(app).sessions, write=False) as session:
        row = session.scalars(select(AuditEntryRow).where(AuditEntryRow.subject == "bertil")).one()
    assert (row.actor, row.action) == ("admin", "staff.added")
    assert '"roles":["registrar","staff"]' in row.details
    assert NEW["password"] not in row.details and totp_secret.group(1) not in row.details


def test_a_taken_username_gets_a_clear_message(app: Flask, client: FlaskClient) -> None:
    """Bad input gives a message in Swedish, not an error page."""
    secret = add_member(app, "admin", Role.ADMIN)
    add_member(app, "bertil")
    sign_in(client, "admin", secret)
    response = post_form(client, "/admin/staff", NEW)
    assert response.status_code == 400
    assert "Användarnamnet är redan upptaget." in response.data.decode()


def test_the_form_explains_a_short_password_and_differing_passwords(app: Flask, client: FlaskClient) -> None:
    """Validation messages appear beside the fields."""
    secret = add_member(app, "admin", Role.ADMIN)
    sign_in(client, "admin", secret)
    response = post_form(client, "/admin/staff", {**NEW, "password": "kort", "password_again": "annat"})
    assert response.status_code == 400
    text = response.data.decode()
    assert 'aria-invalid="true"' in text and "Lösenorden är olika." in text


def test_user_add_on_the_command_line_prints_the_secret_once_and_is_audited(hub_db_url: str, tmp_path: Path) -> None:
    """SEC-16: `tinget hub user add` creates the account, prints the TOTP secret and URI, writes an entry."""
    config = write_config(tmp_path, database_url=hub_db_url)
    password_file = tmp_path / "password"
    password_file.write_text(PASSWORD + "\n", encoding="utf-8")
    password_file.chmod(0o600)
    result = CliRunner().invoke(
        cli,
        [
            "hub",
            "user",
            "add",
            "cecilia",
            "--role",
            "admin",
            "--role",
            "it",
            "--display-name",
            "Cecilia IT",
            "--password-file",
            str(password_file),
            "--config",
            str(config),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Kontot cecilia är skapat med rollerna admin, it." in result.output
    assert re.search(r"TOTP-hemlighet: [A-Z2-7]{32}", result.output)
    assert "otpauth://totp/Tinget:cecilia?secret=" in result.output
    engine, sessions = fresh_sessions(hub_db_url)
    with unit_of_work(sessions, write=False) as session:
        row = session.scalars(select(AuditEntryRow)).one()
    engine.dispose()
    assert row.action == "staff.added" and row.subject == "cecilia" and row.actor.startswith("cli")
    assert PASSWORD not in row.details


def test_user_add_refuses_an_unknown_role_with_one_line(hub_db_url: str, tmp_path: Path) -> None:
    """Bad input on the command line gives a clear message and no traceback."""
    config = write_config(tmp_path, database_url=hub_db_url)
    result = CliRunner().invoke(
        cli, ["hub", "user", "add", "dora", "--role", "kung", "--config", str(config)], input="x\nx\n"
    )
    assert result.exit_code == 2
    assert "unknown role 'kung'" in result.output and "Traceback" not in result.output


def test_the_current_code_is_printed_only_in_demo_mode(hub_db_url: str, tmp_path: Path) -> None:
    """`tinget hub user code` stands in for the phone in the demo, and refuses elsewhere."""
    config = write_config(tmp_path, database_url=hub_db_url)
    refused = CliRunner().invoke(cli, ["hub", "user", "code", "anyone", "--config", str(config)])
    assert refused.exit_code == 2 and "only in demo mode" in refused.output
