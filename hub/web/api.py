"""The open-data API under ``/api/v1/`` (JSON). For now an index of what will be there."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

bp = Blueprint("api", __name__, url_prefix="/api/v1")

API_VERSION = 1


@bp.get("/")
def index() -> Response:
    """What the API offers."""
    resources = {
        "documents": "/api/v1/documents",
        "cases": "/api/v1/cases",
        "notices": "/api/v1/notices",
        "poll_results": "/api/v1/poll-results",
        "openapi": "/api/v1/openapi.json",
        "feeds": ["/feeds/notices.atom", "/feeds/decisions.atom"],
    }
    return jsonify({"name": "Tinget", "api_version": API_VERSION, "resources": resources})
