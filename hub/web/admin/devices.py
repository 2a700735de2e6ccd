"""The devices page (enheter), for IT: each kiosk's state, lag and alarms, an outbox chart, and commands.

A command is only written to the database here (audited, in the same transaction); the ingest process
publishes it. The web never holds an MQTT client: under gunicorn every worker would have its own.
"""

from __future__ import annotations

import datetime as dt

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import SelectField
from wtforms.validators import DataRequired

from hub.db import utcnow
from hub.devices import commands
from hub.devices.alarms import Alarm
from hub.devices.status import DeviceStatus, fleet, limits_from
from hub.staff.roles import Role
from hub.web import auth
from hub.web.admin import bp
from hub.web.admin.device_chart import outbox_chart
from hub.web.context import hub_context, work


class CommandForm(FlaskForm):  # type: ignore[misc]
    """Send one command to one device."""

    device = SelectField(_l("Device"), validators=[DataRequired()])
    command = SelectField(_l("Command"), validators=[DataRequired()])

    def __init__(self, device_ids: list[str], *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.device.choices = [(device_id, device_id) for device_id in device_ids]
        self.command.choices = command_labels()


def command_labels() -> list[tuple[str, str]]:
    """The commands with their names in the reader's language."""
    labels = {
        "reload": _("Reload settings"),
        "resync": _("Fetch every set again"),
        "restart": _("Restart"),
    }
    return [(name, labels[name]) for name in commands.COMMAND_NAMES]


def duration(seconds: float) -> str:
    """A duration as people read it: seconds, minutes, hours or days."""
    value = max(0, int(seconds))
    if value < 120:
        return str(_("%(num)d s", num=value))
    if value < 120 * 60:
        return str(_("%(num)d min", num=value // 60))
    if value < 48 * 3600:
        return str(_("%(num)d h", num=value // 3600))
    return str(_("%(num)d days", num=value // 86400))


def alarm_text(alarm: Alarm, status: DeviceStatus, now: dt.datetime) -> str:
    """One alarm of one device, in words, with its figure."""
    device = status.device
    if alarm is Alarm.OFFLINE:
        away = (now - (status.away_since or now)).total_seconds()
        return str(_("Offline for %(duration)s", duration=duration(away)))
    if alarm is Alarm.OUTBOX_DEPTH:
        return str(_("%(num)d actions wait in the outbox", num=device.outbox_depth or 0))
    if alarm is Alarm.OUTBOX_AGE:
        waited = duration(device.outbox_oldest_age_s or 0)
        return str(_("The oldest action has waited %(duration)s", duration=waited))
    if alarm is Alarm.CERT_EXPIRING:
        expires = device.cert_expires_at or now
        if expires <= now:
            return str(_("The certificate has expired"))
        left = duration((expires - now).total_seconds())
        return str(_("The certificate expires in %(duration)s", duration=left))
    return str(_("The clock is off by %(num)d s", num=abs(device.clock_offset_ms or 0) // 1000))


def _device_ids() -> list[str]:
    with work(write=False) as db:
        return [status.device.device_id for status in fleet(db, utcnow(), limits_from(hub_context().settings))]


def _page(form: CommandForm | None = None, error: str | None = None) -> str:
    settings = hub_context().settings
    now = utcnow()
    with work(write=False) as db:
        statuses = fleet(db, now, limits_from(settings))
        recent = commands.recent_commands(db)
    if form is None:
        form = CommandForm([status.device.device_id for status in statuses])
    chart = outbox_chart(
        [(status.device.device_id, status.device.outbox_depth) for status in statuses],
        settings.device_outbox_alarm_depth,
    )
    alarms = {
        status.device.device_id: [alarm_text(alarm, status, now) for alarm in status.alarms] for status in statuses
    }
    return render_template(
        "admin/devices.html",
        statuses=statuses,
        alarms=alarms,
        chart=chart,
        recent=recent,
        form=form,
        error=error,
        now=now,
        duration=duration,
        command_names=dict(command_labels()),
    )


@bp.get("/devices")
@auth.role_required(Role.IT)
def devices() -> str:
    """Every device, its alarms, the outbox chart and the command form."""
    return _page()


@bp.post("/devices/command")
@auth.role_required(Role.IT)
def device_command() -> Response | tuple[str, int]:
    """Store a command for the ingest to publish (audited), then show the page again."""
    form = CommandForm(_device_ids())
    if not form.validate_on_submit():
        return _page(form), 400
    member = auth.current_member()
    assert member is not None  # role_required let us in
    try:
        with work() as db:
            commands.create_command(db, device_id=form.device.data, name=form.command.data, actor=member.username)
    except commands.CommandError:
        return _page(form, _("The command could not be saved.")), 400
    flash(
        _(
            "The command “%(command)s” for %(device)s is saved; the ingest sends it to the device.",
            command=dict(command_labels())[form.command.data],
            device=form.device.data,
        )
    )
    return redirect(url_for("admin.devices"))
