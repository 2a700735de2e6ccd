"""Error pages in the reader's language (Swedish first), JSON under /api/; never a stack trace (SEC-20)."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError

from hub.db import DatabaseUnavailable

log = logging.getLogger(__name__)


def _messages() -> dict[int, tuple[str, str]]:
    return {
        400: (
            _("The request could not be handled"),
            _("Something in the request was wrong. Go back and try again."),
        ),
        403: (_("Access denied"), _("Your account does not have access to this page.")),
        404: (_("Page not found"), _("There is no page at this address.")),
        405: (_("Not allowed"), _("This page cannot be used that way.")),
        413: (_("Too much data"), _("What you sent is larger than the hub accepts.")),
        429: (_("Too many attempts"), _("Wait a moment and try again.")),
        500: (
            _("Something went wrong"),
            _("An error occurred in the hub. It has been logged; please try again."),
        ),
        503: (
            _("The hub is unavailable"),
            _("The database does not answer right now. Please try again shortly."),
        ),
    }


def error_response(status: int, message: str | None = None) -> tuple[Response | str, int]:
    """An error page (or JSON under /api/ and /healthz) for ``status``, with an optional specific message."""
    title, default = _messages().get(status, _messages()[500])
    text = message or default
    if request.path.startswith("/api/"):
        return jsonify({"error": {"status": status, "title": title, "message": text}}), status
    return render_template("errors/error.html", status=status, title=title, message=text), status


def _http_error(exc: HTTPException) -> tuple[Response | str, int]:
    return error_response(exc.code or 500)


def _csrf_error(_exc: CSRFError) -> tuple[Response | str, int]:
    log.warning("form refused: CSRF token missing or invalid", extra={"path": request.path})
    return error_response(400, _("The form has expired or did not come from this site. Reload the page and try again."))


def _database_error(exc: Exception) -> tuple[Response | str, int]:
    log.error("database unavailable", extra={"path": request.path, "reason": str(exc).splitlines()[0]})
    return error_response(503)


def _internal_error(exc: InternalServerError) -> tuple[Response | str, int]:
    original = exc.original_exception
    if isinstance(original, DatabaseUnavailable | OperationalError):
        return _database_error(original)
    return error_response(500)


def install(app: Flask) -> None:
    """Register the error handlers on ``app``."""
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(DatabaseUnavailable, _database_error)
    app.register_error_handler(OperationalError, _database_error)
    app.register_error_handler(InternalServerError, _internal_error)
    app.register_error_handler(HTTPException, _http_error)
