"""The fleet as the devices page and ``tinget hub device list`` show it: each device with its alarms."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.devices.alarms import Alarm, AlarmLimits, DeviceFigures, alarms, is_online, offline_since
from hub.devices.models import Device
from hub.settings import HubSettings


@dataclass(frozen=True, slots=True)
class DeviceStatus:
    """One device, its figures and what they mean now."""

    device: Device
    online: bool
    away_since: dt.datetime | None  # when it went away, if it is not online
    alarms: tuple[Alarm, ...]


def limits_from(settings: HubSettings) -> AlarmLimits:
    """The alarm thresholds of the hub's settings."""
    return AlarmLimits(
        offline_minutes=settings.device_offline_alarm_minutes,
        outbox_depth=settings.device_outbox_alarm_depth,
        outbox_age_seconds=settings.device_outbox_alarm_age_seconds,
    )


def figures_of(device: Device) -> DeviceFigures:
    """The plain figures of a device row."""
    return DeviceFigures(
        device_id=device.device_id,
        state=device.state,
        state_at=device.state_at,
        last_seen=device.last_seen,
        outbox_depth=device.outbox_depth,
        outbox_oldest_age_s=device.outbox_oldest_age_s,
        cert_expires_at=device.cert_expires_at,
        clock_offset_ms=device.clock_offset_ms,
    )


def fleet(session: Session, now: dt.datetime, limits: AlarmLimits) -> list[DeviceStatus]:
    """Every device that has reported to the hub, by id, with its status now."""
    result = []
    for device in session.scalars(select(Device).order_by(Device.device_id)):
        figures = figures_of(device)
        online = is_online(figures, now, limits)
        result.append(
            DeviceStatus(
                device=device,
                online=online,
                away_since=None if online else offline_since(figures),
                alarms=alarms(figures, now, limits),
            )
        )
    return result
