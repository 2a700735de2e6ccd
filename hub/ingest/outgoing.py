"""What the ingest sends: application acks after a commit, MQTT acks after those, and staff's device commands.

The `Outlet` port is what the loop needs from an MQTT client; `PahoOutlet` is the real one, and the unit
tests use a recording fake. Commands are written to ``device_commands`` by the web and the CLI (no MQTT client
inside gunicorn) and published here: a command stays unpublished until the broker has PUBACKed it, so a crash
in between publishes it again with the same ``command_id`` (the kiosk executes each id once).
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from hub.db import unit_of_work, utcnow
from hub.devices import commands
from protocol import messages, topics

log = logging.getLogger(__name__)

PUBACK_TIMEOUT = 3.0  # seconds a command publish may wait for the broker; then it is tried again later
COMMANDS_PER_ROUND = 50


class Outlet(Protocol):
    """What the ingest needs from its MQTT connection."""

    def send(self, topic: str, payload: bytes) -> bool:
        """Queue a QoS 1 publish; False when the client could not even queue it."""

    def send_confirmed(self, topic: str, payload: bytes, timeout: float) -> bool:
        """Publish at QoS 1 and wait (at most ``timeout``) for the broker's PUBACK; True once it came."""

    def ack(self, mid: int, qos: int) -> None:
        """Acknowledge a received message (MQTT v5 manual ack)."""

    def announce(self, topic: str, payload: bytes, timeout: float) -> bool:
        """Publish retained at QoS 1 and wait (at most ``timeout``) for the PUBACK; True once it came."""


class PahoOutlet:
    """`Outlet` over a paho 2.x client built with manual acks."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def send(self, topic: str, payload: bytes) -> bool:
        """Queue a QoS 1 publish; paho sends it (and resends it after a reconnect) from its own thread."""
        import paho.mqtt.client as paho

        info = self.client.publish(topic, payload, qos=1)
        return bool(info.rc in (paho.MQTT_ERR_SUCCESS, paho.MQTT_ERR_NO_CONN))

    def send_confirmed(self, topic: str, payload: bytes, timeout: float) -> bool:
        """Publish at QoS 1 and wait for the PUBACK, never longer than ``timeout``."""
        import paho.mqtt.client as paho

        info = self.client.publish(topic, payload, qos=1)
        if info.rc != paho.MQTT_ERR_SUCCESS:
            return False
        try:
            info.wait_for_publish(timeout)
        except (RuntimeError, ValueError):
            return False
        return bool(info.is_published())

    def ack(self, mid: int, qos: int) -> None:
        """PUBACK a received QoS 1 message (nothing to do for QoS 0)."""
        self.client.ack(mid, qos)

    def announce(self, topic: str, payload: bytes, timeout: float) -> bool:
        """Publish retained at QoS 1 and wait for the PUBACK, never longer than ``timeout``."""
        import paho.mqtt.client as paho

        info = self.client.publish(topic, payload, qos=1, retain=True)
        if info.rc != paho.MQTT_ERR_SUCCESS:
            return False
        try:
            info.wait_for_publish(timeout)
        except (RuntimeError, ValueError):
            return False
        return bool(info.is_published())


def publish_acks(outlet: Outlet, acks: list[tuple[str, messages.Ack]]) -> None:
    """Publish each `Ack` to its device's ack topic; one the client could not queue is resent by the kiosk."""
    for device_id, ack in acks:
        if not outlet.send(topics.device_down(device_id, topics.ACK), messages.to_payload(ack)):
            log.warning("could not queue an ack; the kiosk will resend", extra={"device": device_id})


def publish_commands(sessions: sessionmaker[Session], outlet: Outlet) -> int:
    """Publish every unpublished command, each marked published (and audited) once the broker has it.

    Returns how many were published. Other ingest processes skip the rows this one holds (PostgreSQL
    ``SKIP LOCKED``; SQLite has one writer at a time anyway).
    """
    with unit_of_work(sessions, write=False) as session:
        if not commands.has_unpublished(session):
            return 0
    published = 0
    with unit_of_work(sessions) as session:
        for command in commands.claim_unpublished(session, limit=COMMANDS_PER_ROUND):
            message = messages.Command.create(
                sender=messages.HUB_SENDER, command_id=command.command_id, name=command.name
            )
            topic = topics.device_down(command.device_id, topics.COMMAND)
            if not outlet.send_confirmed(topic, messages.to_payload(message), PUBACK_TIMEOUT):
                log.warning("command not published yet; trying again later", extra={"device": command.device_id})
                break
            commands.mark_published(session, command, utcnow())
            published += 1
    return published


def announce_sets(sessions: sessionmaker[Session], outlet: Outlet, announced: dict[str, int]) -> int:
    """Announce (retained) every set version stored since this process last announced it; return how many.

    The web stores a new ``catalogue`` version when a registrar publishes (no MQTT client inside gunicorn);
    this is where kiosks hear of it. ``announced`` is this process's memory: after a restart every current
    version is announced again, which kiosks ignore when they hold it already.
    """
    from hub.sets.publication import announcement, current_versions

    with unit_of_work(sessions, write=False) as session:
        rows = [row for row in current_versions(session) if announced.get(row.name) != row.version]
        notices = [announcement(row) for row in rows]
    sent = 0
    for notice in notices:
        if not outlet.announce(topics.set_version(notice.name), messages.to_payload(notice), PUBACK_TIMEOUT):
            log.warning("set version not announced yet; trying again later", extra={"set": notice.name})
            break
        announced[notice.name] = notice.version
        sent += 1
    return sent
