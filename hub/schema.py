"""Every hub table in one metadata, for Alembic and for the test that compares models with migrations."""

from __future__ import annotations

from sqlalchemy import MetaData

from hub.audit.models import AuditEntryRow
from hub.db import Base
from hub.devices.models import DeadLetter, Device, DeviceCommand, ReceivedAction
from hub.polls.models import BoardRow, CeremonyFile, ElectionRecord, PartialRow, Poll, RollEntry
from hub.registry.models import (
    Case,
    CaseSeries,
    CatalogueChunk,
    Document,
    DocumentRequest,
    ImportProgress,
    Notice,
    StoredFile,
    Weeding,
)
from hub.sets.models import SetVersionRow
from hub.staff.models import SigninFailure, StaffRole, StaffUser

MODELS = (
    AuditEntryRow,
    BoardRow,
    CeremonyFile,
    ElectionRecord,
    PartialRow,
    Poll,
    RollEntry,
    Case,
    CaseSeries,
    CatalogueChunk,
    Document,
    DocumentRequest,
    ImportProgress,
    Notice,
    StoredFile,
    Weeding,
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

UNMODELLED_PREFIX = "registry_search"
"""The search index (an FTS5 table and its shadow tables on SQLite, a tsvector table on PostgreSQL) is made by
migration 0006 per database and has no model: Alembic's comparison leaves it out."""


def include_name(name: str | None, type_: str, _parent: object) -> bool:
    """Alembic ``include_name`` hook: every table but the search index's."""
    return not (type_ == "table" and name is not None and name.startswith(UNMODELLED_PREFIX))
