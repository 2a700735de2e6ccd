"""The kiosk's copy of the hub's replicated sets: fetched over mutual TLS, checked, swapped in whole.

The sync agent calls `on_set_version` for every retained `SetVersion` notice and `resync` for the hub's
"resync" command; the UI reads `current`. A set is fetched from ``hub_url + notice.url`` with the device's own
certificate (``mqtt_cert_file``/``mqtt_key_file``), the hub verified against ``mqtt_ca_file``. Its bytes must
hash to the announced SHA-256 and be a canonical set body (``{"content": {…}, "schema": 1, "set": name}``, as
hub/sets/content.py writes it) before one UPDATE replaces the old copy (SEC-12). Whatever goes wrong, the last
good copy stays in use: a network problem is `FetchStatus.UNREACHABLE` (try again later), a bad answer is
`FetchStatus.REFUSED` (logged; wait for the next notice). The only exceptions are `ConfigError` (the device's
credentials or ``hub_url`` are not usable; `check_settings` finds that at start-up) and database errors of the
kiosk's own store.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import ssl
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import CursorResult, Engine, Integer, LargeBinary, String, Text, or_, select, update
from sqlalchemy.dialects.sqlite import insert
from sqlalchemy.orm import Mapped, mapped_column

from kiosk.models import Base, UTCDateTime
from kiosk.settings import KioskSettings
from kiosk.store import make_session_factory
from protocol import codec
from protocol.messages import HUB_SENDER, MAX_SET_BYTES, SetVersion
from protocol.settings import ConfigError

log = logging.getLogger(__name__)

SET_SCHEMA = 1  # the body layout hub/sets/content.py writes
_CHUNK = 64 * 1024


class ReplicaRow(Base):
    """One replicated set: the last good copy (None until the first fetch) and the newest announced version."""

    __tablename__ = "replica_sets"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    version: Mapped[int | None] = mapped_column(Integer)
    sha256: Mapped[str | None] = mapped_column(String(64))
    body: Mapped[bytes | None] = mapped_column(LargeBinary)  # the exact bytes the hub served
    fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    announced_version: Mapped[int] = mapped_column(Integer)
    announced_sha256: Mapped[str] = mapped_column(String(64))
    announced_url: Mapped[str] = mapped_column(Text)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)  # why the last fetch failed; None after a good one


class FetchStatus(StrEnum):
    """What a fetch came to. In every case but UPDATED the kiosk keeps the copy it had."""

    UPDATED = "updated"  # the announced version is now the kiosk's copy
    CURRENT = "current"  # the kiosk already held this version (or a newer one)
    UNREACHABLE = "unreachable"  # the hub could not be reached or was not ready: try again later
    REFUSED = "refused"  # the answer was not acceptable (wrong hash, bad body, hub said no): logged


@dataclass(frozen=True, slots=True)
class FetchResult:
    """The outcome for one set; ``version`` is the version the kiosk holds afterwards (None: no copy yet)."""

    name: str
    status: FetchStatus
    version: int | None
    detail: str = ""

    @property
    def retry_later(self) -> bool:
        """True when the caller should try this set again after a pause (the hub was unreachable)."""
        return self.status is FetchStatus.UNREACHABLE


@dataclass(frozen=True, slots=True)
class ReplicaSet:
    """The kiosk's last good copy of a set."""

    name: str
    version: int
    sha256: str
    content: dict[str, Any]
    fetched_at: datetime


class _Failed(Exception):
    def __init__(self, status: FetchStatus, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


def check_settings(settings: KioskSettings) -> None:
    """Raise `ConfigError` unless the device credentials and an https ``hub_url`` are configured."""
    if settings.mqtt_ca_file is None or settings.mqtt_cert_file is None or settings.mqtt_key_file is None:
        raise ConfigError(
            "fetching replicated sets needs mqtt_ca_file, mqtt_cert_file and mqtt_key_file (the device "
            "certificate from `tinget provision`)"
        )
    if urlsplit(settings.hub_url).scheme != "https":
        raise ConfigError(f"hub_url must be the hub's device API over https://, not {settings.hub_url!r}")


def _tls_context(settings: KioskSettings) -> ssl.SSLContext:
    check_settings(settings)
    assert settings.mqtt_ca_file and settings.mqtt_cert_file and settings.mqtt_key_file
    try:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(settings.mqtt_ca_file))
        context.load_cert_chain(str(settings.mqtt_cert_file), str(settings.mqtt_key_file))
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"the device's TLS files cannot be loaded: {exc}") from None
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def _download(settings: KioskSettings, url: str) -> bytes:
    """GET ``url`` (a path on ``hub_url``, or an https URL) over mutual TLS; `_Failed` on any problem."""
    target = urlsplit(url if url.startswith("https://") else settings.hub_url.rstrip("/") + url)
    path = (target.path or "/") + (f"?{target.query}" if target.query else "")
    timeout = settings.sets_fetch_timeout_seconds
    deadline = time.monotonic() + timeout
    connection = http.client.HTTPSConnection(
        target.hostname or "", target.port or 443, context=_tls_context(settings), timeout=timeout
    )
    try:
        connection.request("GET", path, headers={"Accept": "application/json"})
        response = connection.getresponse()
        if response.status != 200:
            retry = response.status >= 500 or response.status in (408, 429)
            reason = response.read(1024).decode("utf-8", "replace").strip()[:200]
            raise _Failed(
                FetchStatus.UNREACHABLE if retry else FetchStatus.REFUSED,
                f"the hub answered {response.status}: {reason}",
            )
        body = bytearray()
        while chunk := response.read(_CHUNK):
            body += chunk
            if len(body) > MAX_SET_BYTES:
                raise _Failed(FetchStatus.REFUSED, f"the set is larger than {MAX_SET_BYTES} bytes")
            if time.monotonic() > deadline:
                raise _Failed(FetchStatus.UNREACHABLE, f"the fetch took longer than {timeout:g} s")
        return bytes(body)
    except ssl.SSLCertVerificationError as exc:
        raise _Failed(FetchStatus.UNREACHABLE, f"the hub's certificate is not trusted: {exc.verify_message}") from None
    except (OSError, http.client.HTTPException) as exc:  # ssl.SSLError and timeouts are OSErrors
        raise _Failed(FetchStatus.UNREACHABLE, f"the hub cannot be reached: {exc.__class__.__name__}: {exc}") from None
    finally:
        connection.close()


def _check(name: str, sha256: str, body: bytes) -> None:
    """Refuse bytes that are not exactly the announced set (SEC-12)."""
    actual = hashlib.sha256(body).hexdigest()
    if actual != sha256:
        raise _Failed(FetchStatus.REFUSED, f"sha256 {actual} of the fetched bytes is not the announced {sha256}")
    try:
        document = codec.decode(body, max_size=MAX_SET_BYTES)
    except codec.DecodeError as exc:
        raise _Failed(FetchStatus.REFUSED, f"the set is not a canonical JSON document: {exc}") from None
    if (
        not isinstance(document, dict)
        or set(document) != {"content", "schema", "set"}
        or document["set"] != name
        or document["schema"] != SET_SCHEMA
        or not isinstance(document["content"], dict)
    ):
        raise _Failed(FetchStatus.REFUSED, f"the body is not a schema {SET_SCHEMA} body of set {name!r}")


def _refresh(engine: Engine, settings: KioskSettings, notice: SetVersion, *, force: bool) -> FetchResult:
    """Fetch, check and swap in ``notice``'s version (``force``: even if the kiosk already holds it)."""
    name, sessions, now = notice.name, make_session_factory(engine), datetime.now(UTC)
    try:
        body = _download(settings, notice.url)
        _check(name, notice.sha256, body)
    except _Failed as failure:
        with sessions.begin() as session:
            session.execute(
                update(ReplicaRow).where(ReplicaRow.name == name).values(last_attempt_at=now, last_error=failure.detail)
            )
            held = session.scalar(select(ReplicaRow.version).where(ReplicaRow.name == name))
        level = logging.WARNING if failure.status is FetchStatus.REFUSED else logging.INFO
        log.log(
            level,
            "set fetch failed; keeping the last good copy",
            extra={
                "set": name,
                "version": notice.version,
                "held": held,
                "status": str(failure.status),
                "reason": failure.detail,
            },
        )
        return FetchResult(name, failure.status, held, failure.detail)
    newer = ReplicaRow.version <= notice.version if force else ReplicaRow.version < notice.version
    with sessions.begin() as session:
        # One statement replaces the whole copy: readers see the old set or the new one, never a mixture.
        swap: CursorResult[Any] = session.execute(  # type: ignore[assignment]  # an UPDATE gives a CursorResult
            update(ReplicaRow)
            .where(ReplicaRow.name == name, or_(ReplicaRow.version.is_(None), newer))
            .values(
                version=notice.version,
                sha256=notice.sha256,
                body=body,
                fetched_at=now,
                last_attempt_at=now,
                last_error=None,
            )
        )
        swapped = swap.rowcount
        held = session.scalar(select(ReplicaRow.version).where(ReplicaRow.name == name))
    if not swapped:
        return FetchResult(name, FetchStatus.CURRENT, held)
    log.info("set updated", extra={"set": name, "version": notice.version, "size": len(body)})
    return FetchResult(name, FetchStatus.UPDATED, notice.version)


def on_set_version(engine: Engine, settings: KioskSettings, message: SetVersion) -> FetchResult:
    """Handle a `SetVersion` notice: remember it, and fetch the set if it is newer than the kiosk's copy."""
    if message.sender != HUB_SENDER:
        detail = f"a set notice from {message.sender!r}, not from the hub"
        log.warning("set notice refused", extra={"set": message.name, "reason": detail})
        return FetchResult(message.name, FetchStatus.REFUSED, None, detail)
    check_settings(settings)
    announced = {
        "announced_version": message.version,
        "announced_sha256": message.sha256,
        "announced_url": message.url,
    }
    statement = insert(ReplicaRow).values(name=message.name, **announced)
    statement = statement.on_conflict_do_update(
        index_elements=[ReplicaRow.name],
        set_=announced,
        where=ReplicaRow.announced_version <= statement.excluded.announced_version,
    )
    with make_session_factory(engine).begin() as session:
        session.execute(statement)  # a write first: the transaction takes the write lock at once
        held = session.scalar(select(ReplicaRow.version).where(ReplicaRow.name == message.name))
    if held is not None and held >= message.version:
        return FetchResult(message.name, FetchStatus.CURRENT, held)
    return _refresh(engine, settings, message, force=False)


def resync(engine: Engine, settings: KioskSettings) -> list[FetchResult]:
    """Fetch again every set the kiosk has been told of, at its newest announced version (the resync command)."""
    check_settings(settings)
    with make_session_factory(engine)() as session:
        rows = session.execute(
            select(
                ReplicaRow.name, ReplicaRow.announced_version, ReplicaRow.announced_sha256, ReplicaRow.announced_url
            ).order_by(ReplicaRow.name)
        ).all()
    results = []
    for name, version, sha256, url in rows:
        # Rebuilt from what the hub announced (and the kiosk stored): the same checks apply as on arrival.
        notice = SetVersion.create(sender=HUB_SENDER, name=name, version=version, sha256=sha256, url=url)
        results.append(_refresh(engine, settings, notice, force=True))
    return results


def current_sha256(engine: Engine, name: str) -> str | None:
    """The SHA-256 of the kiosk's copy of set ``name`` (None: no copy), without reading the body."""
    with make_session_factory(engine)() as session:
        return session.scalar(select(ReplicaRow.sha256).where(ReplicaRow.name == name, ReplicaRow.body.is_not(None)))


def current(engine: Engine, name: str) -> ReplicaSet | None:
    """The kiosk's last good copy of set ``name``, or None if it has none yet."""
    with make_session_factory(engine)() as session:
        row: Any = session.execute(
            select(ReplicaRow.version, ReplicaRow.sha256, ReplicaRow.body, ReplicaRow.fetched_at).where(
                ReplicaRow.name == name, ReplicaRow.body.is_not(None)
            )
        ).first()
    if row is None:
        return None
    version, sha256, body, fetched_at = row  # all set together with the body by the swap
    document = codec.decode(body, max_size=MAX_SET_BYTES)  # checked before it was stored
    return ReplicaSet(name, version, sha256, document["content"], fetched_at)
