"""Who is signed in, and the decorators that guard staff pages (SEC-18).

The session cookie holds only the member's id and when the sign-in completed; the account is read again on
every request, so a deactivated account loses access at once.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any, TypeVar

from flask import abort, g, redirect, request, session, url_for

from hub.staff.accounts import StaffMember, find_member
from hub.staff.roles import Role, may_enter
from hub.web.context import work

F = TypeVar("F", bound=Callable[..., Any])

PENDING_SECONDS = 300  # between a correct password and the code; after this the password is asked for again


def client_address() -> str:
    """The client's address as the hub sees it (behind a proxy, ProxyFix must make this the real one)."""
    return request.remote_addr or "unknown"


def current_member() -> StaffMember | None:
    """The signed-in staff member of this request, or None."""
    if "staff" not in g:
        member = None
        staff_id = session.get("staff_id")
        if isinstance(staff_id, int):
            with work(write=False) as db:
                member = find_member(db, staff_id)
            if member is None or not member.active:
                session.clear()
                member = None
        g.staff = member
    staff: StaffMember | None = g.staff
    return staff


def start_pending(member: StaffMember) -> None:
    """Remember that the password step passed; only the code page accepts this state."""
    session.clear()
    session["pending_id"] = member.id
    session["pending_until"] = int(time.time()) + PENDING_SECONDS


def pending_id() -> int | None:
    """The member id waiting for its code, if the password step passed recently."""
    staff_id, until = session.get("pending_id"), session.get("pending_until")
    if isinstance(staff_id, int) and isinstance(until, int) and until > time.time():
        return staff_id
    return None


def complete_signin(member: StaffMember) -> None:
    """Both factors passed: a fresh session (no fixation) that names the member."""
    lang = session.get("lang")
    session.clear()
    session.permanent = True
    session["staff_id"] = member.id
    session["signed_in_at"] = int(time.time())
    if lang:
        session["lang"] = lang


def sign_out() -> None:
    """Forget everything about the sign-in (the language choice stays)."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


def signin_required(view: F) -> F:
    """The page needs a signed-in staff member; others are sent to the sign-in page."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_member() is None:
            return redirect(url_for("admin.signin"))
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def role_required(*roles: Role) -> Callable[[F], F]:
    """The page needs one of ``roles`` (admin may enter any page); others get 403."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            member = current_member()
            if member is None:
                return redirect(url_for("admin.signin"))
            if not may_enter(member.roles, roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorate
