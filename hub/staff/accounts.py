"""Staff account services: add a member, the two sign-in steps, look members up.

Each function takes the session of the caller's unit of work and writes its audit entry in the same
transaction, so an action and its record are stored together or not at all. Nothing here knows about the web
or the CLI.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.audit import log as audit
from hub.db import utcnow
from hub.staff import passwords, throttle, totp
from hub.staff.models import StaffRole, StaffUser
from hub.staff.roles import Role
from hub.staff.throttle import ThrottlePolicy

USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")


class StaffError(ValueError):
    """An account cannot be created or changed as asked; the message says why, ``code`` names the case."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class StaffMember:
    """A staff member as the rest of the hub sees one (no hashes, no secrets)."""

    id: int
    username: str
    display_name: str
    roles: frozenset[Role]
    active: bool
    employee_id: str | None = None  # the id on the member's employee e-ID card (hub/staff/cards.py)


@dataclass(frozen=True, slots=True)
class NewAccount:
    """A just-created account and its TOTP secret, which is shown to its owner once and never again."""

    member: StaffMember
    totp_secret: str
    provisioning_uri: str


@dataclass(frozen=True, slots=True)
class SigninOutcome:
    """The result of one sign-in step: the member when it passed, or how long sign-in is locked."""

    member: StaffMember | None = None
    locked_seconds: int = 0

    @property
    def ok(self) -> bool:
        """True when the step passed."""
        return self.member is not None


def to_member(user: StaffUser) -> StaffMember:
    known = {r.value for r in Role}
    roles = frozenset(Role(r.role) for r in user.roles if r.role in known)
    return StaffMember(user.id, user.username, user.display_name, roles, user.active, user.employee_id)


def normalise_username(username: str) -> str:
    """Usernames compare case-insensitively and without surrounding spaces."""
    return unicodedata.normalize("NFC", username).strip().lower()


def add_staff(
    session: Session,
    *,
    username: str,
    display_name: str,
    password: str,
    roles: Iterable[Role],
    totp_key: bytes,
    actor: str,
) -> NewAccount:
    """Create an account with a fresh TOTP secret and record it in the audit log."""
    username = normalise_username(username)
    display_name = unicodedata.normalize("NFC", display_name).strip()
    roles = frozenset(roles)
    if not USERNAME.fullmatch(username):
        raise StaffError("the username must be 2-64 lower-case letters, digits, '.', '_' or '-'", "username")
    if not display_name or len(display_name) > 200:
        raise StaffError("the display name must be 1-200 characters long", "display_name")
    if not roles:
        raise StaffError("a staff member needs at least one role", "roles")
    try:
        passwords.check_policy(password)
    except passwords.WeakPassword as exc:
        raise StaffError(str(exc), "password") from None
    if session.scalar(select(StaffUser.id).where(StaffUser.username == username)) is not None:
        raise StaffError(f"the username {username!r} is already taken", "username_taken")
    secret = totp.new_secret()
    user = StaffUser(
        username=username,
        display_name=display_name,
        password_hash=passwords.hash_password(password),
        totp_secret_sealed=totp.seal(secret, totp_key, username),
        totp_last_step=None,
        active=True,
        created_at=utcnow(),
        roles=[StaffRole(role=r.value) for r in sorted(roles)],
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="staff.added",
        subject=username,
        details={"display_name": display_name, "roles": sorted(r.value for r in roles)},
    )
    return NewAccount(to_member(user), secret, totp.provisioning_uri(secret, username))


def find_member(session: Session, user_id: int) -> StaffMember | None:
    """The member with this id, or None."""
    user = session.get(StaffUser, user_id)
    return to_member(user) if user is not None else None


def find_member_by_username(session: Session, username: str) -> StaffMember | None:
    """The member with this username, or None."""
    user = session.scalar(select(StaffUser).where(StaffUser.username == normalise_username(username)))
    return to_member(user) if user is not None else None


def list_staff(session: Session) -> list[StaffMember]:
    """Every account, by username."""
    return [to_member(u) for u in session.scalars(select(StaffUser).order_by(StaffUser.username))]


def _fail(
    session: Session,
    *,
    policy: ThrottlePolicy,
    username: str,
    known: StaffUser | None,
    address: str,
    step: str,
    now: dt.datetime,
) -> SigninOutcome:
    throttle.record_failure(session, username, address, now)
    # An unknown name may be a password typed into the wrong field: it is not written down (SEC-20).
    audit.record(
        session,
        actor=known.username if known else "anonymous",
        action="signin.failed",
        subject=known.username if known else "",
        details={"step": step, "known_user": known is not None, "address": address},
        now=now,
    )
    return SigninOutcome(locked_seconds=throttle.seconds_locked(session, policy, username, address, now))


def _refuse_locked(
    session: Session, *, policy: ThrottlePolicy, username: str, address: str, now: dt.datetime
) -> SigninOutcome | None:
    locked = throttle.seconds_locked(session, policy, username, address, now)
    if not locked:
        return None
    audit.record(
        session,
        actor="anonymous",
        action="signin.refused_locked",
        subject="",
        details={"address": address},
        now=now,
    )
    return SigninOutcome(locked_seconds=locked)


def check_password(
    session: Session, *, username: str, password: str, address: str, policy: ThrottlePolicy
) -> SigninOutcome:
    """Step one of sign-in. Counts failures; refuses while locked without even looking at the password."""
    now = utcnow()
    username = normalise_username(username)
    throttle.prune(session, policy, now)
    refused = _refuse_locked(session, policy=policy, username=username, address=address, now=now)
    if refused:
        return refused
    user = session.scalar(select(StaffUser).where(StaffUser.username == username))
    if not passwords.verify_password(user.password_hash if user else None, password) or user is None:
        return _fail(session, policy=policy, username=username, known=user, address=address, step="password", now=now)
    if not user.active:
        return _fail(session, policy=policy, username=username, known=user, address=address, step="inactive", now=now)
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    return SigninOutcome(member=to_member(user))


def check_code(
    session: Session, *, user_id: int, code: str, address: str, policy: ThrottlePolicy, totp_key: bytes
) -> SigninOutcome:
    """Step two: the TOTP code. A code is accepted once; a valid one completes the sign-in (audited)."""
    now = utcnow()
    user = session.get(StaffUser, user_id)
    if user is None or not user.active:
        return SigninOutcome()
    refused = _refuse_locked(session, policy=policy, username=user.username, address=address, now=now)
    if refused:
        return refused
    secret = totp.unseal(user.totp_secret_sealed, totp_key, user.username)
    step = totp.matching_step(secret, code, last_step=user.totp_last_step, now=now.timestamp())
    if step is None:
        return _fail(session, policy=policy, username=user.username, known=user, address=address, step="code", now=now)
    user.totp_last_step = step
    throttle.clear_failures(session, user.username)
    audit.record(
        session,
        actor=user.username,
        action="signin.succeeded",
        subject=user.username,
        details={"address": address},
        now=now,
    )
    return SigninOutcome(member=to_member(user))


def record_signout(session: Session, member: StaffMember, address: str) -> None:
    """Write the sign-out to the audit log."""
    audit.record(
        session,
        actor=member.username,
        action="signin.signed_out",
        subject=member.username,
        details={"address": address},
    )


def current_code_for(session: Session, username: str, totp_key: bytes) -> str:
    """The current TOTP code of an account (for the demo's printed instructions only)."""
    user = session.scalar(select(StaffUser).where(StaffUser.username == normalise_username(username)))
    if user is None:
        raise StaffError(f"there is no account named {username!r}", "unknown_user")
    return totp.current_code(totp.unseal(user.totp_secret_sealed, totp_key, user.username))
