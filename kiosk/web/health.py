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
    """Database, outbox depth, card service and reader, device id and version; 503 when the database is not
    reachable or the card service has stopped."""
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
    card_service = rt.card_service
    # A card service that was started and has stopped is a kiosk that cannot sign anyone in: the watchdog
    # restarts the UI on a 503.
    body["card_service"] = "running" if card_service.alive else ("stopped" if card_service.started else "not-started")
    body["card_reader"] = str(card_service.state().phase)
    healthy = body["database"] == "ok" and body["card_service"] != "stopped"
    body["status"] = "ok" if healthy else "degraded"
    return jsonify(body), 200 if healthy else 503
