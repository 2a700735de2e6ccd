"""``/healthz``: whether the kiosk can serve, as JSON for the browser watchdog and for IT."""

from __future__ import annotations

import logging
from importlib.metadata import version

from flask import Blueprint, Response, jsonify
from sqlalchemy.exc import SQLAlchemyError

from kiosk import outbox
from kiosk.web import runtime

log = logging.getLogger(__name__)
bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    """Database reachable, outbox depth, device id and software version; 503 when the database is not."""
    rt = runtime()
    body: dict[str, object] = {"device_id": rt.settings.device_id, "version": version("tinget")}
    try:
        with rt.sessions() as session:
            body["outbox_depth"] = outbox.depth(session)
        body["database"] = "ok"
    except SQLAlchemyError as exc:
        log.error("health check: database unavailable", extra={"error": type(exc).__name__})
        body["database"] = "unavailable"
        body["outbox_depth"] = None
    body["status"] = "ok" if body["database"] == "ok" else "degraded"
    return jsonify(body), 200 if body["database"] == "ok" else 503
