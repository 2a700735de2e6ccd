"""``/healthz``: do the database and the broker answer? JSON, for monitoring and the demo's readiness wait."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from hub.health import broker_check, database_check
from hub.web.context import hub_context

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    """200 while the database answers (``status`` is "degraded" when only the broker is away), else 503."""
    ctx = hub_context()
    database = database_check(ctx.engine)
    broker = broker_check(ctx.settings)
    body = {
        "status": "ok" if database.ok and broker.ok else "degraded",
        "database": {"ok": database.ok, "detail": database.detail},
        "broker": {"ok": broker.ok, "detail": broker.detail},
    }
    return jsonify(body), 200 if database.ok else 503
