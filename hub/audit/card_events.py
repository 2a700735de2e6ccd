"""Kiosk card events in the audit log: a refused e-ID card, a staff member's sign-in (SEC-16).

The kiosk sends them as ``card-event`` actions through its outbox. They name what happened, why, and the
kind of card holder, never the person (SEC-14): a body with anything else is refused.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from hub.audit import log as audit
from hub.ingest.handlers import ActionContext, ActionRefused
from hub.staff.roles import Role
from protocol.eid import HolderKind, RefusalReason

KIND = "card-event"
EVENTS = {"signin-refused": "kiosk.card_refused", "staff-signed-in": "kiosk.staff_signed_in"}
REASONS = frozenset(str(reason) for reason in RefusalReason)
HOLDER_KINDS = frozenset(str(kind) for kind in HolderKind)
ROLES = frozenset(str(role) for role in Role)


def record_card_event(session: Session, action: ActionContext) -> None:
    """Write a kiosk's card event to the audit log, or refuse a body that is not exactly one."""
    body = action.body
    if set(body) != {"event", "reason", "holder_kind", "roles"}:
        raise ActionRefused("a card event has exactly the fields event, reason, holder_kind and roles")
    event, reason, kind, roles = body["event"], body["reason"], body["holder_kind"], body["roles"]
    # Type checks first: a list or an object cannot be looked up in a set, and must be refused, not crash (SEC-19).
    if not isinstance(event, str) or event not in EVENTS:
        raise ActionRefused("unknown card event (the value is not repeated here: it may be anything)")
    if reason is not None and (not isinstance(reason, str) or reason not in REASONS):
        raise ActionRefused("unknown refusal reason (the value is not repeated here: it may be anything)")
    if kind is not None and (not isinstance(kind, str) or kind not in HOLDER_KINDS):
        raise ActionRefused("holder_kind must be resident, staff or null")
    if not isinstance(roles, list) or not all(isinstance(role, str) and role in ROLES for role in roles):
        raise ActionRefused("roles must be a list of known staff roles")
    details = {"reason": reason, "holder_kind": kind, "roles": sorted(roles), "msg_id": action.msg_id}
    audit.record(
        session, actor=f"device:{action.device_id}", action=EVENTS[event], subject=action.device_id, details=details
    )
