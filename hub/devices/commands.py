"""Commands staff send to one device: reload, resync, restart. Written here (audited), published by the ingest.

The web and the CLI only write a row; the ingest process, the hub's one MQTT client, publishes it. Each
command has an id that stays the same on every resend; the kiosk executes an id once.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.audit import log as audit
from hub.db import utcnow
from hub.devices.models import Device, DeviceCommand
from protocol.messages import new_message_id

COMMAND_NAMES = ("reload", "resync", "restart")
INGEST_ACTOR = "ingest"


class CommandError(Exception):
    """A command that cannot be sent; ``code`` says why ("name", "device"), the message says it to people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def create_command(
    session: Session, *, device_id: str, name: str, actor: str, now: dt.datetime | None = None
) -> DeviceCommand:
    """Store a command for ``device_id`` and audit it, in the caller's transaction."""
    if name not in COMMAND_NAMES:
        raise CommandError("name", f"unknown command {name[:40]!r} (known: {', '.join(COMMAND_NAMES)})")
    if session.get(Device, device_id) is None:
        raise CommandError("device", f"no device {device_id[:63]!r} has reported to this hub")
    command = DeviceCommand(
        command_id=new_message_id(),
        device_id=device_id,
        name=name,
        created_by=actor[:200],
        created_at=now or utcnow(),
        published_at=None,
    )
    session.add(command)
    audit.record(
        session,
        actor=actor,
        action="device.command",
        subject=device_id,
        details={"command": name, "command_id": command.command_id},
    )
    return command


def has_unpublished(session: Session) -> bool:
    """Is any command waiting to be published? (A cheap read, done before taking any lock.)"""
    query = select(DeviceCommand.command_id).where(DeviceCommand.published_at.is_(None)).limit(1)
    return session.scalar(query) is not None


def claim_unpublished(session: Session, *, limit: int) -> list[DeviceCommand]:
    """Unpublished commands, oldest first, locked for this transaction; rows another ingest holds are skipped."""
    query = (
        select(DeviceCommand)
        .where(DeviceCommand.published_at.is_(None))
        .order_by(DeviceCommand.created_at, DeviceCommand.command_id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(session.scalars(query))


def mark_published(session: Session, command: DeviceCommand, now: dt.datetime) -> None:
    """The broker has the command: remember when, and audit it."""
    command.published_at = now
    audit.record(
        session,
        actor=INGEST_ACTOR,
        action="device.command.published",
        subject=command.device_id,
        details={"command": command.name, "command_id": command.command_id},
    )


def recent_commands(session: Session, limit: int = 20) -> list[DeviceCommand]:
    """The latest commands, newest first."""
    query = select(DeviceCommand).order_by(DeviceCommand.created_at.desc(), DeviceCommand.command_id.desc())
    return list(session.scalars(query.limit(limit)))
