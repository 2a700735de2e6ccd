"""Devices (enheter): alarms, the devices page as IT sees it, and commands from the web and the CLI to the kiosk."""

from __future__ import annotations

import datetime as dt
import html
import re
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hub.audit.models import AuditEntryRow
from hub.cli import DEVICE_COMMANDS
from hub.db import make_engine, make_session_factory, unit_of_work, utcnow
from hub.devices import commands
from hub.devices.alarms import Alarm, AlarmLimits, DeviceFigures, alarms, is_online
from hub.devices.models import Device, DeviceCommand
from hub.staff.roles import Role
from hub.web.admin.device_chart import outbox_chart
from tests.hub.helpers import add_member, post_form, sign_in, write_config
from tests.hub.test_hub_ingest_harness import InProcessIngest, Kiosk, ingest_settings, online, wait_for
from tinget.cli import cli

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
LIMITS = AlarmLimits(offline_minutes=10, outbox_depth=1000, outbox_age_seconds=3600)


def figures(**changes: Any) -> DeviceFigures:
    values: dict[str, Any] = {
        "device_id": "ange",
        "state": "online",
        "state_at": NOW - dt.timedelta(hours=5),
        "last_seen": NOW - dt.timedelta(seconds=30),
        "outbox_depth": 0,
        "outbox_oldest_age_s": None,
        "cert_expires_at": NOW + dt.timedelta(days=60),
        "clock_offset_ms": 120,
        **changes,
    }
    return DeviceFigures(**values)


def test_a_healthy_device_is_online_without_alarms() -> None:
    """Online state, heard from recently, every figure within its limit."""
    assert is_online(figures(), NOW, LIMITS) and alarms(figures(), NOW, LIMITS) == ()


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"state": "offline", "state_at": NOW - dt.timedelta(minutes=11)}, Alarm.OFFLINE),
        ({"last_seen": NOW - dt.timedelta(minutes=11)}, Alarm.OFFLINE),  # silent, no last will (yet)
        ({"outbox_depth": 1001}, Alarm.OUTBOX_DEPTH),
        ({"outbox_oldest_age_s": 3601}, Alarm.OUTBOX_AGE),
        ({"cert_expires_at": NOW + dt.timedelta(days=13)}, Alarm.CERT_EXPIRING),
        ({"cert_expires_at": NOW - dt.timedelta(days=1)}, Alarm.CERT_EXPIRING),
        ({"clock_offset_ms": -5001}, Alarm.CLOCK_OFFSET),
    ],
)
def test_each_figure_beyond_its_limit_raises_its_alarm(changes: dict[str, Any], expected: Alarm) -> None:
    """Offline for longer than N minutes, a deep or old outbox, a certificate within 14 days, a clock off by 5 s."""
    assert alarms(figures(**changes), NOW, LIMITS) == (expected,)


def test_a_device_that_just_went_offline_raises_no_alarm_yet() -> None:
    """A short break (a restart) is shown as offline but is not an alarm until the limit has passed."""
    changed = figures(state="offline", state_at=NOW - dt.timedelta(minutes=2))
    assert not is_online(changed, NOW, LIMITS) and alarms(changed, NOW, LIMITS) == ()


def test_the_outbox_chart_scales_to_the_limit_and_marks_bars_beyond_it() -> None:
    """Bars are proportional; the threshold line sits where the limit is; a bar past it is flagged."""
    chart = outbox_chart([("ange", 500), ("follinge", 2000), ("ny", None)], 1000)
    ange, follinge, new = chart.bars
    assert chart.scale_max == 2000 and follinge.width == 4 * ange.width and new.width == 0
    assert follinge.over_limit and not ange.over_limit and not new.over_limit
    assert chart.limit_x == ange.x + 2 * ange.width and ange.y < follinge.y < new.y


def add_devices(sessions: sessionmaker[Session]) -> None:
    """Änge is fine; Föllinge has been gone for two hours with a full outbox and more trouble."""
    now = utcnow()
    with unit_of_work(sessions) as session:
        session.add(
            Device(
                device_id="ange",
                last_seen=now,
                state="online",
                state_at=now,
                outbox_depth=2,
                outbox_oldest_age_s=4,
                cert_expires_at=now + dt.timedelta(days=200),
                clock_offset_ms=-300,
                last_ack_at=now,
                version="0.1.0",
                actions_received=10,
                duplicates_absorbed=0,
            )
        )
        session.add(
            Device(
                device_id="follinge",
                last_seen=now - dt.timedelta(hours=2),
                state="offline",
                state_at=now - dt.timedelta(hours=2),
                outbox_depth=5000,
                outbox_oldest_age_s=7200,
                cert_expires_at=now + dt.timedelta(days=3, hours=1),
                clock_offset_ms=9000,
                actions_received=0,
                duplicates_absorbed=0,
            )
        )


def row_text(page: str, device: str) -> str:
    """A table row as a person reads it: tags gone, whitespace collapsed."""
    match = re.search(rf'<tr id="device-{device}".*?</tr>', page, re.S)
    assert match, f"no row for {device}"
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", match.group(0))).split())


def signed_in_it(app: Flask, client: FlaskClient) -> None:
    secret = add_member(app, "ida", Role.IT)
    sign_in(client, "ida", secret)


def test_the_devices_page_shows_state_lag_and_alarms(
    app: Flask, client: FlaskClient, session_factory: sessionmaker[Session]
) -> None:
    """As IT reads it: Änge connected without alarms, Föllinge offline with every alarm spelt out."""
    add_devices(session_factory)
    signed_in_it(app, client)
    response = client.get("/admin/devices")
    page = response.data.decode()
    assert response.status_code == 200 and "<h1>Enheter</h1>" in page and 'href="/admin/devices"' in page
    assert row_text(page, "ange").startswith("ange 0.1.0 Ansluten")
    assert row_text(page, "ange").endswith("-0.3 s Inga")
    follinge = row_text(page, "follinge")
    assert follinge.startswith("follinge Frånkopplad") and " 5000 2 tim " in follinge
    for alarm in (
        "Frånkopplad i 2 tim",
        "5000 åtgärder väntar i utkorgen",
        "Den äldsta åtgärden har väntat i 2 tim",
        "Certifikatet går ut om 3 dygn",
        "Klockan går fel med 9 s",
    ):
        assert alarm in follinge
    assert "1 enhet behöver åtgärdas." in page


def test_the_devices_page_draws_the_outbox_chart_in_svg_without_script(
    app: Flask, client: FlaskClient, session_factory: sessionmaker[Session]
) -> None:
    """A server-rendered SVG: one bar per device, the one beyond the alarm limit in the alarm colour; no JS."""
    add_devices(session_factory)
    signed_in_it(app, client)
    page = client.get("/admin/devices").data.decode()
    svg = page[page.index("<svg") : page.index("</svg>")]
    assert '<title id="outbox-chart-title">Åtgärder som väntar i varje enhets utkorg</title>' in svg
    assert "ange: 2. follinge: 5000. Larm över 1000." in svg
    bars = re.findall(r'<rect class="bar"[^>]*fill="(#[0-9a-f]+)"', svg)
    assert bars == ["#0b4f8a", "#a4161a"] and "<script" not in page


def test_only_it_and_admin_may_open_the_devices_page(app: Flask, client: FlaskClient) -> None:
    """A staff member without the IT role gets 403; nobody signed in is sent to sign in."""
    assert client.get("/admin/devices").status_code == 302
    sign_in(client, "sam", add_member(app, "sam", Role.STAFF))
    assert client.get("/admin/devices").status_code == 403


def test_a_command_from_the_page_is_stored_and_audited_for_the_ingest_to_send(
    app: Flask, client: FlaskClient, session_factory: sessionmaker[Session]
) -> None:
    """SEC-18: a CSRF-protected form; the command is written (not published) and named in the audit log."""
    add_devices(session_factory)
    signed_in_it(app, client)
    assert client.post("/admin/devices/command", data={"device": "ange", "command": "restart"}).status_code == 400
    response = post_form(
        client, "/admin/devices/command", {"device": "ange", "command": "restart"}, page="/admin/devices"
    )
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).data.decode()
    assert "Kommandot ”Starta om” till ange är sparat; ingest skickar det till enheten." in page
    assert "Väntar på ingest" in page
    with unit_of_work(session_factory, write=False) as session:
        [command] = session.scalars(select(DeviceCommand)).all()
        assert (command.device_id, command.name, command.created_by, command.published_at) == (
            "ange",
            "restart",
            "ida",
            None,
        )
        entry = session.scalars(select(AuditEntryRow).where(AuditEntryRow.action == "device.command")).one()
        assert entry.actor == "ida" and entry.subject == "ange" and command.command_id in entry.details
    unknown = post_form(
        client, "/admin/devices/command", {"device": "nowhere", "command": "reload"}, page="/admin/devices"
    )
    assert unknown.status_code == 400


def test_the_cli_lists_devices_and_stores_a_command(hub_db_url: str, tmp_path: Path) -> None:
    """`tinget hub device list` and `tinget hub device command DEVICE NAME`, audited as the CLI user."""
    engine = make_engine(hub_db_url)
    add_devices(make_session_factory(engine))
    config = write_config(tmp_path, database_url=hub_db_url)
    listed = CliRunner().invoke(cli, ["hub", "device", "list", "--config", str(config)])
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert lines[0].split()[:2] == ["ENHET", "STATUS"]
    assert lines[1].startswith("ange") and "ansluten" in lines[1] and lines[1].endswith("-")
    assert "frånkopplad" in lines[2] and "offline, outbox-depth, outbox-age, cert-expiring, clock-offset" in lines[2]
    sent = CliRunner().invoke(cli, ["hub", "device", "command", "follinge", "resync", "--config", str(config)])
    assert sent.exit_code == 0 and "Kommandot resync till follinge är sparat" in sent.output
    refused = CliRunner().invoke(cli, ["hub", "device", "command", "nowhere", "resync", "--config", str(config)])
    assert refused.exit_code == 1 and "no device 'nowhere' has reported to this hub" in refused.output
    with unit_of_work(make_session_factory(engine), write=False) as session:
        [command] = session.scalars(select(DeviceCommand)).all()
        assert command.name == "resync" and command.created_by.startswith("cli")
    engine.dispose()
    assert DEVICE_COMMANDS == commands.COMMAND_NAMES


@pytest.mark.broker
def test_the_ingest_publishes_a_stored_command_once_and_audits_it(
    hub_db_url: str, mosquitto: Any, mqtt_client: Any, tmp_path: Path
) -> None:
    """The kiosk receives the command exactly once, with its id; the row is marked published and audited."""
    kiosk = Kiosk(mqtt_client("ange"))
    engine = make_engine(hub_db_url)
    sessions = make_session_factory(engine)
    with InProcessIngest(ingest_settings(hub_db_url, mosquitto, tmp_path)):
        kiosk.send(online("ange"))
        wait_for(lambda: _device_known(sessions, "ange"), 10, "the device to be recorded")
        with unit_of_work(sessions) as session:
            command_id = commands.create_command(session, device_id="ange", name="reload", actor="ida").command_id
        wait_for(lambda: (kiosk.collect(), kiosk.commands)[1], 10, "the command at the kiosk")
        time.sleep(1.5)  # more than one poll of the ingest: nothing is sent twice
        kiosk.client.barrier()
        kiosk.collect()
    assert [(c.command_id, c.name, c.sender) for c in kiosk.commands] == [(command_id, "reload", "hub")]
    with unit_of_work(sessions, write=False) as session:
        command = session.get(DeviceCommand, command_id)
        assert command is not None and command.published_at is not None
        published = session.scalars(select(AuditEntryRow).where(AuditEntryRow.action == "device.command.published"))
        assert [(e.actor, e.subject) for e in published] == [("ingest", "ange")]
    engine.dispose()


def _device_known(sessions: sessionmaker[Session], device_id: str) -> bool:
    with unit_of_work(sessions, write=False) as session:
        return session.get(Device, device_id) is not None
