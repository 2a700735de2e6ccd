"""Tables the ingest worker writes: what each device last reported, the actions it delivered, messages the
ingest could not accept, and the commands staff send to a device."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub.db import Base, UtcDateTime


class Device(Base):
    """A kiosk that has reported in: its id (the CN of its certificate), its state and its last heartbeat.

    The heartbeat figures are copied into columns so that the devices page and its alarms need no JSON; numbers
    from the wire are integers up to 2**53, hence the 64-bit columns.
    """

    __tablename__ = "devices"

    device_id: Mapped[str] = mapped_column(String(63), primary_key=True)
    last_seen: Mapped[dt.datetime] = mapped_column(UtcDateTime)  # any message from it, hub clock
    last_heartbeat: Mapped[str | None] = mapped_column(Text)  # canonical JSON of the last Heartbeat
    state: Mapped[str | None] = mapped_column(String(16))  # "online" / "offline" (DeviceState, last will)
    state_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)  # when the hub learned the state
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    version: Mapped[str | None] = mapped_column(String(64))
    uptime_s: Mapped[int | None] = mapped_column(BigInteger)
    outbox_depth: Mapped[int | None] = mapped_column(BigInteger)
    outbox_oldest_age_s: Mapped[int | None] = mapped_column(BigInteger)
    last_ack_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)  # the last Ack the kiosk received
    cert_expires_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    reader_state: Mapped[str | None] = mapped_column(String(16))
    clock_offset_ms: Mapped[int | None] = mapped_column(BigInteger)
    last_batch_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)  # when the hub last acked a batch
    actions_received: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    duplicates_absorbed: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class ReceivedAction(Base):
    """An action a kiosk confirmed to a person, stored exactly once: (device_id, msg_id) is unique.

    ``status`` is "accepted" (its side effects were applied), "refused" (kept with the reason and acked all
    the same, so the kiosk never resends it) or "unchecked" (refused for now because the hub could not check it,
    e.g. a missing CA file; `tinget hub poll recheck` takes it in once the configuration is fixed).
    """

    __tablename__ = "received_actions"
    __table_args__ = (UniqueConstraint("device_id", "msg_id", name="uq_received_actions_device_id_msg_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[str] = mapped_column(String(63), ForeignKey("devices.device_id"))
    msg_id: Mapped[str] = mapped_column(String(36))
    batch_id: Mapped[str] = mapped_column(String(36))  # the batch that first delivered it
    kind: Mapped[str] = mapped_column(String(63))
    body: Mapped[str] = mapped_column(Text)  # canonical JSON
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)  # the kiosk's clock
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)  # the hub's clock
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)


class DeviceCommand(Base):
    """A command for one device (reload, resync, restart), written by the web or the CLI and published by the
    ingest (never an MQTT client inside gunicorn). ``command_id`` stays the same on every resend."""

    __tablename__ = "device_commands"

    command_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    device_id: Mapped[str] = mapped_column(String(63), ForeignKey("devices.device_id"), index=True)
    name: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    published_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, index=True)


class DeadLetter(Base):
    """A message the ingest could not accept, kept with the reason: nothing is lost silently (SEC-19).

    ``category`` sorts them: malformed, oversize, schema, topic, spoofed, replay, error.
    """

    __tablename__ = "dead_letters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)
    topic: Mapped[str] = mapped_column(String(300))
    payload: Mapped[bytes] = mapped_column(LargeBinary)  # at most MAX_KEPT_PAYLOAD bytes of it
    payload_size: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(16), default="malformed", server_default="malformed")
