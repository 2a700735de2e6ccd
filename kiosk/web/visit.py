"""The visit's life on the server: idle expiry on every request, ``/session/end`` and ``/session/keepalive``.

The browser's idle timer (static/idle.js) warns and then ends the visit; the server enforces the same limit on
its own, so a page left open, or an old cookie, cannot resume a visit that is over.
"""

from __future__ import annotations

import logging
import time

from flask import Blueprint, Response, jsonify, redirect, request, session, url_for
from werkzeug.wrappers import Response as BaseResponse

from kiosk.visit import is_stale
from kiosk.web import runtime

log = logging.getLogger(__name__)
bp = Blueprint("visit", __name__)

SEEN_KEY = "seen"  # epoch seconds of the visit's last request
IN_USE_KEY = "in_use"  # someone has done something: the browser arms its idle timer
_UNTRACKED = frozenset({"static", "health.healthz"})  # neither starts nor prolongs a visit
_PASSIVE = frozenset({"start.index", "visit.end"})  # showing the start screen is not yet someone using it


CARD_KEY = "card"  # the insertion number of the card the visit signed in with (kiosk.web.signin sets it)


def end_visit(card: int | None = None) -> None:
    """Forget everything about the current visit; the next request starts afresh in the default language.

    ``card``: the card the visit was using (its insertion number); if it is still in the reader, it is reset,
    so the PIN it verified is forgotten and the screen asks for it to be taken out.
    """
    session.clear()
    if card:
        runtime().card_service.end_visit(card)


def card_field() -> int | None:
    """The card a posted form says its page showed (the ``card`` field), or None."""
    try:
        return int(request.form.get("card", "")) or None
    except ValueError:
        return None


@bp.before_app_request
def expire_idle_visit() -> None:
    """Clear a visit idle longer than ``idle_seconds`` before anything else (CSRF included) looks at it.

    A session nobody has used yet (the start screen waiting for hours) holds nothing to forget: it is kept, so
    the first tap on that screen still works.
    """
    if request.endpoint in _UNTRACKED:
        return
    now = time.time()
    used = bool(session.get(IN_USE_KEY))
    if used and is_stale(session.get(SEEN_KEY), now, runtime().settings.idle_seconds):
        log.info("visit expired on the server", extra={"endpoint": request.endpoint})
        end_visit(session.get(CARD_KEY))
    session[SEEN_KEY] = now
    if request.endpoint not in _PASSIVE and request.endpoint is not None:
        session[IN_USE_KEY] = True


@bp.post("/session/end")
def end() -> BaseResponse:
    """End the visit (the idle timer's last step, "Avsluta", "Logga ut", a pulled card) and show the start screen.

    The form names the card its page was showing; that card (if still in) is reset, never one inserted since.
    """
    end_visit(session.get(CARD_KEY) or card_field())
    return redirect(url_for("start.index"), 303)


@bp.post("/session/keepalive")
def keepalive() -> Response:
    """The resident is still touching the screen: the request itself has renewed the visit."""
    return jsonify({"visit": "active", "idle_seconds": runtime().settings.idle_seconds})
