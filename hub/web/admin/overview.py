"""The staff start page after sign-in."""

from __future__ import annotations

from flask import render_template

from hub.web import auth
from hub.web.admin import bp


@bp.get("/")
@auth.signin_required
def overview() -> str:
    """What the signed-in member can do."""
    return render_template("admin/overview.html", member=auth.current_member())
