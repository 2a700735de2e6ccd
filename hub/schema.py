"""Every hub table in one metadata, for Alembic and for the test that compares models with migrations."""

from __future__ import annotations

from sqlalchemy import MetaData

from hub.audit.models import AuditEntryRow
from hub.db import Base
from hub.devices.models import DeadLetter, Device, DeviceCommand, ReceivedAction
from hub.sets.models import SetVersionRow
from hub.staff.models import SigninFailure, StaffRole, StaffUser

MODELS = (
    AuditEntryRow,
    DeadLetter,
    Device,
    DeviceCommand,
    ReceivedAction,
    SetVersionRow,
    SigninFailure,
    StaffRole,
    StaffUser,
)
metadata: MetaData = Base.metadata
