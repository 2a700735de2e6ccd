"""Error pages a resident can read: large, friendly, in the visit's language, never a stack trace."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError, SecurityError
from werkzeug.wrappers import Response as BaseResponse

from kiosk.web.preferences import UnknownLanguage
from kiosk.web.visit import card_field, end_visit

log = logging.getLogger(__name__)


def _page(status: int, title: str, text: str) -> tuple[str, int]:
    return render_template("error.html", status=status, title=title, text=text), status


def _not_found(_exc: HTTPException) -> tuple[str, int]:
    return _page(404, _("We could not find that page"), _("Go back to the start and try again."))


def _unknown_language(_exc: UnknownLanguage) -> tuple[str, int]:
    return _page(
        404,
        _("That language is not available here"),
        _("Choose one of the languages at the top of the screen."),
    )


def _expired_form(exc: CSRFError) -> BaseResponse | tuple[Response | str, int]:
    # The visit ran out (or the page is stale): ending it is harmless, so the idle timer's last step always
    # works; a keepalive learns that the visit is over; any other form shows why it did not go through.
    log.info("form refused: CSRF check failed", extra={"endpoint": request.endpoint, "reason": exc.description})
    if request.endpoint == "visit.end":
        end_visit(card_field())  # the visit's cookie is gone, but the form still names its card: reset it
        return redirect(url_for("start.index"), 303)
    if request.endpoint == "visit.keepalive":
        return jsonify({"visit": "ended"}), 409
    return _page(
        400,
        _("The page had expired"),
        _("For your safety, a page stops working after a while. Go back to the start and try again."),
    )


def _other_http_error(exc: HTTPException) -> tuple[str, int]:
    status = exc.code or 500
    if status == 404:
        return _not_found(exc)
    return _page(status, _("Something went wrong"), _("Go back to the start and try again, or ask the staff for help."))


def _internal_error(_exc: InternalServerError) -> tuple[str, int]:
    # Flask has already logged the exception with its traceback; the resident sees none of it.
    return _page(
        500,
        _("Something went wrong"),
        _("The kiosk ran into a problem. Go back to the start and try again, or ask the staff for help."),
    )


def _untrusted_host(_exc: SecurityError) -> tuple[str, int, dict[str, str]]:
    # No page: a request for another host name has no URLs to build one with, and deserves none.
    log.warning("request refused: untrusted Host header")
    return "Bad request: this kiosk answers only as 127.0.0.1 or localhost.\n", 400, {"Content-Type": "text/plain"}


def register_error_pages(app: Flask) -> None:
    """Map errors to pages on ``app``."""
    app.register_error_handler(SecurityError, _untrusted_host)
    app.register_error_handler(CSRFError, _expired_form)
    app.register_error_handler(UnknownLanguage, _unknown_language)
    app.register_error_handler(404, _not_found)
    app.register_error_handler(InternalServerError, _internal_error)
    app.register_error_handler(HTTPException, _other_http_error)
