"""The sign-in throttle: too many failures for one username or one client address lock sign-in for a while.

Failures live in the database, so the limit holds across gunicorn workers and restarts (docs/decisions.md D7).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hub.staff.models import SigninFailure

# An office behind one NAT address has several people signing in: it may fail this many times more than one
# user may.
ADDRESS_FACTOR = 4


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    """How many failures within how many seconds lock sign-in."""

    max_failures: int
    lockout_seconds: int


def _key(kind: str, value: str) -> str:
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()


def username_key(username: str) -> str:
    """The throttle key of a username (case-insensitive)."""
    return _key("user", username.strip().lower())


def address_key(address: str) -> str:
    """The throttle key of a client address."""
    return _key("address", address)


def _seconds_left(session: Session, key: str, limit: int, policy: ThrottlePolicy, now: dt.datetime) -> int:
    since = now - dt.timedelta(seconds=policy.lockout_seconds)
    recent = session.scalars(
        select(SigninFailure.at)
        .where(SigninFailure.key == key, SigninFailure.at > since)
        .order_by(SigninFailure.at.desc())
        .limit(limit)
    ).all()
    if len(recent) < limit:
        return 0
    # Locked until the failure that reached the limit ages out of the window.
    until = recent[limit - 1] + dt.timedelta(seconds=policy.lockout_seconds)
    return max(1, math.ceil((until - now).total_seconds()))


def seconds_locked(session: Session, policy: ThrottlePolicy, username: str, address: str, now: dt.datetime) -> int:
    """Seconds until sign-in opens again for this username and address; 0 when it is open."""
    return max(
        _seconds_left(session, username_key(username), policy.max_failures, policy, now),
        _seconds_left(session, address_key(address), policy.max_failures * ADDRESS_FACTOR, policy, now),
    )


def record_failure(session: Session, username: str, address: str, now: dt.datetime) -> None:
    """Count one failed attempt against the username and the address."""
    session.add_all(
        [SigninFailure(key=username_key(username), at=now), SigninFailure(key=address_key(address), at=now)]
    )
    session.flush()


def clear_failures(session: Session, username: str) -> None:
    """Forget the username's failures after a complete sign-in (the address keeps its count)."""
    session.execute(delete(SigninFailure).where(SigninFailure.key == username_key(username)))


def prune(session: Session, policy: ThrottlePolicy, now: dt.datetime) -> None:
    """Delete failures older than the window; they no longer count."""
    since = now - dt.timedelta(seconds=policy.lockout_seconds)
    session.execute(delete(SigninFailure).where(SigninFailure.at <= since))
