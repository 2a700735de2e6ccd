"""The public site: what residents see from home. For now a start page that points onwards."""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("public", __name__)


@bp.get("/")
def index() -> str:
    """The start page."""
    return render_template("public/index.html")
