"""Storing set versions: a new version only when a set's bytes changed, each one audited.

Service functions on the caller's session (`hub.db.unit_of_work`): `publish` writes and audits in that
transaction, so a version and its audit entry exist together or not at all. Versions start at 1 and only grow.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from hub.audit import log as audit_log
from hub.db import utcnow
from hub.sets.models import SetVersionRow
from protocol import topics
from protocol.messages import HUB_SENDER, SetVersion

PUBLISH_LOCK_KEY = 0x71_6E_67_65_74_02  # PostgreSQL advisory lock: one publisher numbers versions at a time
SETS_PATH = "/device/v1/sets/"


@dataclass(frozen=True, slots=True)
class PublishedSet:
    """The current version of one set after `publish`; ``changed`` says whether this call created it."""

    name: str
    version: int
    sha256: str
    size: int
    changed: bool


def set_url(name: str, version: int) -> str:
    """The device API path that serves exactly this version (relative to the kiosk's hub URL)."""
    return f"{SETS_PATH}{topics.check_slug(name, 'set name')}?version={version}"


def find_latest(session: Session, name: str) -> SetVersionRow | None:
    """The newest stored version of set ``name``, or None if it was never published."""
    return session.scalars(
        select(SetVersionRow).where(SetVersionRow.name == name).order_by(SetVersionRow.version.desc()).limit(1)
    ).first()


def find_version(session: Session, name: str, version: int | None = None) -> SetVersionRow | None:
    """Version ``version`` of set ``name`` (the newest when None), or None if there is no such version."""
    if version is None:
        return find_latest(session, name)
    return session.get(SetVersionRow, (name, version))


def current_versions(session: Session) -> list[SetVersionRow]:
    """The newest version of every published set, by name."""
    newest = (
        select(SetVersionRow.name, func.max(SetVersionRow.version).label("version"))
        .group_by(SetVersionRow.name)
        .subquery()
    )
    rows = session.scalars(
        select(SetVersionRow)
        .join(newest, (SetVersionRow.name == newest.c.name) & (SetVersionRow.version == newest.c.version))
        .order_by(SetVersionRow.name)
    )
    return list(rows)


def publish(
    session: Session, bodies: Mapping[str, bytes], *, actor: str, now: dt.datetime | None = None
) -> list[PublishedSet]:
    """Store a new version of every set whose bytes differ from its newest version; audit each new one.

    Returns the current version of every set in ``bodies``, sorted by name. Not committed here.
    """
    if session.get_bind().dialect.name == "postgresql":
        # Two publishers must not both number version N + 1 (SQLite writers already hold the write lock).
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PUBLISH_LOCK_KEY})
    at = now or utcnow()
    published: list[PublishedSet] = []
    for name in sorted(bodies):
        topics.set_version(name)  # an unknown set name is a programming error: TopicError
        body = bodies[name]
        sha256 = hashlib.sha256(body).hexdigest()
        latest = find_latest(session, name)
        if latest is not None and latest.sha256 == sha256 and latest.body == body:
            published.append(PublishedSet(name, latest.version, sha256, len(body), changed=False))
            continue
        version = 1 if latest is None else latest.version + 1
        session.add(SetVersionRow(name=name, version=version, sha256=sha256, body=body, published_at=at))
        audit_log.record(
            session,
            actor=actor,
            action="set.published",
            subject=name,
            details={"version": version, "sha256": sha256, "size": len(body)},
            now=at,
        )
        published.append(PublishedSet(name, version, sha256, len(body), changed=True))
    session.flush()
    return published


def announcement(row: SetVersionRow | PublishedSet) -> SetVersion:
    """The retained `SetVersion` notice for a stored version."""
    return SetVersion.create(
        sender=HUB_SENDER, name=row.name, version=row.version, sha256=row.sha256, url=set_url(row.name, row.version)
    )
