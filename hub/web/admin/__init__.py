"""Staff pages under ``/admin/``: sign-in with a second factor, overview, audit log, staff accounts, devices,
the registry, polls (election officers) and the trustees' pages."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from hub.web.auth import current_member
from hub.web.forms import role_labels

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.context_processor
def _admin_names() -> dict[str, Any]:
    from hub.web.registry_text import template_helpers

    return {"member": current_member(), "role_names": dict(role_labels()), **template_helpers()}


# The views attach themselves to `bp` when imported.
from hub.web.admin import (  # noqa: E402, F401
    audit_log,
    devices,
    overview,
    poll_actions,
    polls,
    registry,
    registry_work,
    signin,
    staff,
    trustee,
)
