"""Staff e-ID cards: the employee id on a member's card, and the list of card holders and roles kiosks receive.

A staff member signs in at a kiosk with an employee e-ID card (SITHS-style), whose certificate names an
employee id (HSA-id style, `protocol.eid.EMPLOYEE_ID`). The hub keeps that id on the member's account; the
trust set carries the active members' ids with their roles in a list the hub signs (hub/sets/staff_list.py),
so a kiosk knows a card's roles offline. Every change is audited.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.audit import log as audit
from hub.staff.accounts import StaffError, StaffMember, normalise_username, to_member
from hub.staff.models import StaffUser
from protocol.eid import parse_employee_id


def set_employee_id(session: Session, *, username: str, employee_id: str | None, actor: str) -> StaffMember:
    """Give the member ``username`` the employee id of their card (None: take it away); audited."""
    user = session.scalar(select(StaffUser).where(StaffUser.username == normalise_username(username)))
    if user is None:
        raise StaffError(f"there is no account named {username!r}", "unknown_user")
    if employee_id is not None:
        try:
            employee_id = parse_employee_id(employee_id)
        except ValueError as exc:
            raise StaffError(str(exc), "employee_id") from None
        holder = session.scalar(select(StaffUser.username).where(StaffUser.employee_id == employee_id))
        if holder is not None and holder != user.username:
            raise StaffError(f"the employee id is already on the account {holder!r}", "employee_id_taken")
    previous, user.employee_id = user.employee_id, employee_id
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="staff.employee_id_set" if employee_id else "staff.employee_id_removed",
        subject=user.username,
        details={"employee_id": employee_id, "previous": previous},
    )
    return to_member(user)


def card_roles(session: Session) -> dict[str, list[str]]:
    """Employee id → sorted roles of every active member who has a card: the staff list's content."""
    members = session.scalars(select(StaffUser).where(StaffUser.active.is_(True), StaffUser.employee_id.is_not(None)))
    return {user.employee_id: sorted(role.role for role in user.roles) for user in members if user.employee_id}
