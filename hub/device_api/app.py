"""`create_app` for the device API: JSON only, every request identified by its client certificate.

Building the app prepares the database engine and the revocation list reader; nothing connects until a
request needs it. Every answer is JSON (errors too); a revoked device gets 403 on every path.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import Flask, Response, current_app, g, jsonify, request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.exceptions import HTTPException

from hub.db import DatabaseUnavailable, make_engine, make_session_factory
from hub.device_api.identity import Revocations, device_id_of, peer_common_name
from hub.sets.trust import TrustError
from hub.settings import HubSettings, load_hub_settings

log = logging.getLogger(__name__)

EXTENSION = "tinget_device_api"
MAX_REQUEST_BYTES = 64 * 1024  # kiosks only GET here today


@dataclass(frozen=True, slots=True)
class DeviceApiContext:
    """The device API's process-wide parts, built once by `create_app`."""

    settings: HubSettings
    engine: Engine
    sessions: sessionmaker[Session]
    revocations: Revocations


def context() -> DeviceApiContext:
    """The running app's `DeviceApiContext`."""
    found: DeviceApiContext = current_app.extensions[EXTENSION]
    return found


def error(status: int, code: str, message: str) -> Response:
    """A JSON error: ``{"error": code, "message": message}`` with ``status``."""
    response = jsonify({"error": code, "message": message})
    response.status_code = status
    return response


def _identify() -> Response | None:
    device = device_id_of(peer_common_name(request.environ))
    if device is None:
        return error(401, "no-device-certificate", "a device certificate is required")
    try:
        revoked = device in context().revocations
    except TrustError as exc:
        log.error("device API refuses requests: revocation list unreadable", extra={"reason": str(exc)})
        return error(503, "revocation-list-unavailable", "the hub cannot check revocations right now")
    if revoked:
        log.warning("revoked device refused", extra={"device_id": device, "path": request.path})
        return error(403, "device-revoked", "this device has been revoked")
    g.device_id = device
    return None


def _http_error(exc: HTTPException) -> Response:
    name = (exc.name or "error").lower().replace(" ", "-")
    return error(exc.code or 500, name, exc.description or name)


def _database_unavailable(exc: DatabaseUnavailable) -> Response:
    log.error("device API: database unavailable", extra={"reason": str(exc)})
    return error(503, "database-unavailable", "the hub's database does not answer; try again later")


def create_app(settings: HubSettings | None = None) -> Flask:
    """The device API's Flask application for ``settings`` (default: `load_hub_settings()`)."""
    from hub.device_api import records, views  # noqa: F401 - records adds its routes to views.bp

    settings = settings or load_hub_settings()
    app = Flask("hub.device_api")
    app.config.update(MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES)
    engine = make_engine(settings.database_url)
    app.extensions[EXTENSION] = DeviceApiContext(
        settings=settings,
        engine=engine,
        sessions=make_session_factory(engine),
        revocations=Revocations(settings.device_api_revoked_file),
    )
    app.before_request(_identify)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(DatabaseUnavailable, _database_unavailable)
    app.register_blueprint(views.bp)
    return app
