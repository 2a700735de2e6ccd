"""The device API's endpoints under ``/device/v1``: replicated sets and the hub's clock.

``GET /device/v1/sets/<name>[?version=N]`` answers the stored bytes of the newest (or the given) version,
exactly as hashed in the announced `SetVersion`: ETag is their SHA-256, ``X-Tinget-Set-Version`` the version.
``GET /device/v1/time`` answers the hub's clock, for the kiosk's clock offset estimate.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, g, jsonify, request

from hub.db import unit_of_work
from hub.device_api.app import context, error
from hub.sets.publication import find_version
from protocol import topics
from protocol.messages import now_ms

log = logging.getLogger(__name__)

bp = Blueprint("device_api", __name__, url_prefix="/device/v1")

VERSION_HEADER = "X-Tinget-Set-Version"


@bp.get("/sets/<name>")
def set_body(name: str) -> Response:
    """The bytes of one version of set ``name``, with its SHA-256 as ETag (``If-None-Match`` gives 304)."""
    if name not in topics.SET_NAMES:
        return error(404, "unknown-set", f"there is no set called {name[:40]!r}")
    raw_version = request.args.get("version")
    version: int | None = None
    if raw_version is not None:
        if not raw_version.isascii() or not raw_version.isdigit() or len(raw_version) > 15:
            return error(400, "bad-version", "version must be a positive whole number")
        version = int(raw_version)
    with unit_of_work(context().sessions, write=False) as session:
        row = find_version(session, name, version)
        if row is None:
            what = f"version {version} of set {name!r}" if version is not None else f"set {name!r}"
            return error(404, "no-such-version", f"{what} has not been published")
        body, sha256, found = row.body, row.sha256, row.version
    response = Response(body, mimetype="application/json")
    response.set_etag(sha256)
    response.headers[VERSION_HEADER] = str(found)
    response.cache_control.no_cache = True
    log.info("set served", extra={"device_id": g.device_id, "set": name, "version": found})
    return response.make_conditional(request)  # type: ignore[return-value]  # the same response, maybe 304


@bp.get("/time")
def hub_time() -> Response:
    """The hub's clock in Unix milliseconds, and the device as the hub sees it."""
    return jsonify({"now_ms": now_ms(), "device": g.device_id})
