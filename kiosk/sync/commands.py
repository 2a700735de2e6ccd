"""Hub commands (reload, resync, restart), each executed once per ``command_id`` however often it arrives.

The hub may resend a command and the broker may deliver one twice (QoS 1, a kiosk killed before it
acknowledged); the executed ids are kept in ``executed_commands``. ``restart`` is recorded *before* the
agent exits (else it would restart forever); ``reload`` and ``resync`` are recorded after their effect, so a
kiosk killed in between does them again, which is harmless.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from kiosk.models import ExecutedCommand
from protocol.messages import Command

log = logging.getLogger(__name__)

RESTART_EXIT_CODE = 75  # EX_TEMPFAIL: systemd (Restart=on-failure) starts the agent again
Handler = Callable[[], None]


def was_executed(session: Session, command_id: str) -> bool:
    """Whether a command with this id has been executed here."""
    return session.get(ExecutedCommand, command_id) is not None


def _record(session: Session, command: Command) -> None:
    session.add(ExecutedCommand(command_id=command.command_id, name=command.name, executed_at=datetime.now(UTC)))


def execute_once(sessions: sessionmaker[Session], command: Command, handlers: Mapping[str, Handler]) -> int | None:
    """Execute ``command`` unless its id has been executed; return `RESTART_EXIT_CODE` for ``restart``.

    ``handlers`` maps ``reload`` and ``resync`` to what they do.
    """
    fields = {"command_id": command.command_id, "command": command.name}
    with sessions() as session:  # read only; the write below is a transaction of its own (see kiosk.outbox)
        if was_executed(session, command.command_id):
            log.info("command already executed; not again", extra=fields)
            return None
    if command.name == "restart":
        with sessions.begin() as session:
            _record(session, command)
        log.warning("restart requested by the hub; exiting so that systemd starts us again", extra=fields)
        return RESTART_EXIT_CODE
    handlers[command.name]()
    with sessions.begin() as session:
        _record(session, command)
    log.info("command executed", extra=fields)
    return None
