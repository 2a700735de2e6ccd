"""Signing in with an e-ID card on the touch screen: card events, the PIN keypad, the welcome, signing out.

The card service (`kiosk.eid.service`) owns the reader; these views only show its state and pass the PIN on.
The page learns of a card put in or pulled out through server-sent events (``/card/events``) and moves to the
right screen (static/card.js). The server does not rely on that: a visit bound to a card that is no longer
signed in is ended on its next request, whatever the page does (SEC-10).
"""

from __future__ import annotations

import json
import logging
import queue
import select
import socket
import time
from collections.abc import Iterator

from flask import Blueprint, Response, g, redirect, render_template, request, session, url_for
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response as BaseResponse

from kiosk.eid.service import CardState, Phase, PinOutcome
from kiosk.eid.signin import Visitor
from kiosk.web import runtime
from kiosk.web.visit import CARD_KEY
from protocol.eid_validation import Reason

log = logging.getLogger(__name__)
bp = Blueprint("signin", __name__)

PIN_ERROR_KEY = "pin_error"
STREAM_POLL_SECONDS = 0.5  # how often an idle stream checks whether its page is still open
STREAM_KEEPALIVE_SECONDS = 5.0  # a comment line this often (where the socket cannot be checked, a write notices)
STREAM_MAX_SECONDS = 300.0  # then the stream ends and EventSource reconnects (no thread is held forever)

# Each reason's title and text on the screen (SEC-01: every refusal has its own clear message).
REFUSALS: dict[Reason, tuple[LazyString, LazyString]] = {
    Reason.NOT_AN_EID: (
        _l("This card is not an e-ID"),
        _l("The kiosk accepts e-ID cards with a certificate for identification. Take the card out."),
    ),
    Reason.UNSUPPORTED_CARD: (
        _l("This card cannot be used here"),
        _l("The card uses a feature the kiosk does not support. Take the card out and ask the staff for help."),
    ),
    Reason.UNREADABLE: (
        _l("The card could not be read"),
        _l("Take the card out and put it in again. If it happens again, ask the staff for help."),
    ),
    Reason.UNKNOWN_ISSUER: (
        _l("The card is from an issuer the kiosk does not trust"),
        _l("Only e-ID cards from the issuers the municipality accepts can be used here."),
    ),
    Reason.EXPIRED: (
        _l("The card has expired"),
        _l("The card's validity has ended. Contact the card's issuer for a new card."),
    ),
    Reason.NOT_YET_VALID: (
        _l("The card is not valid yet"),
        _l("The card's validity has not begun. Try again later or contact the card's issuer."),
    ),
    Reason.REVOKED: (
        _l("The card is revoked"),
        _l("The card's issuer has revoked it, so it cannot be used. Contact the card's issuer."),
    ),
    Reason.NO_TRUST_LIST: (
        _l("The kiosk cannot check cards right now"),
        _l("The kiosk is missing the list of revoked cards. Please ask the staff for help."),
    ),
    Reason.STALE_TRUST_LIST: (
        _l("The kiosk cannot check cards right now"),
        _l("The kiosk's list of revoked cards is too old. Please ask the staff for help."),
    ),
    Reason.CLOCK_BEHIND: (
        _l("The kiosk cannot check cards right now"),
        _l("The kiosk's clock is wrong, so it cannot tell whether a card is valid. Please ask the staff for help."),
    ),
    Reason.PIN_BLOCKED: (
        _l("The PIN is blocked"),
        _l("Too many wrong PINs were entered. Contact the card's issuer to unblock it."),
    ),
    Reason.SIGNATURE_INVALID: (
        _l("The card could not prove that it is genuine"),
        _l("The card's signature did not match its certificate. Take the card out and ask the staff for help."),
    ),
    Reason.STAFF_UNKNOWN: (
        _l("The card is not on the staff list"),
        _l("This employee card is not registered for the municipality's kiosks. Ask your manager or IT."),
    ),
    Reason.READER_GONE: (
        _l("The card reader is not available"),
        _l("Please ask the staff for help."),
    ),
}
ROLE_NAMES: dict[str, LazyString] = {
    "admin": _l("administrator"),
    "election_officer": _l("election officer"),
    "registrar": _l("registrar"),
    "it": _l("IT"),
    "staff": _l("staff"),
}
SIGNIN_PHASES = frozenset({Phase.READING, Phase.PIN, Phase.REFUSED})


def role_name(role: str) -> str:
    """A staff role as the screen names it, in the visit's language."""
    name = ROLE_NAMES.get(role)
    return str(name) if name is not None else role


def card_state() -> CardState:
    """The card's state for this request: read once, so the page's text and the state it tells card.js it
    shows are the same (a second read could already see the next state, and the page would never move on)."""
    if "card_state" not in g:
        g.card_state = runtime().card_service.state()
    state: CardState = g.card_state
    return state


def current_visitor() -> Visitor | None:
    """The person signed in for this visit, if their card is still in; None otherwise."""
    state, insertion = card_state(), session.get(CARD_KEY)
    if insertion and state.phase is Phase.SIGNED_IN and state.insertion == insertion:
        return state.visitor
    return None


@bp.before_app_request
def drop_visit_without_card() -> None:
    """A visit signed in with a card that has since been pulled (or reset) loses the sign-in at once."""
    if CARD_KEY in session and current_visitor() is None:
        log.info("visit signed out: the card is no longer in")
        session.pop(CARD_KEY, None)


@bp.app_context_processor
def _card_context() -> dict[str, object]:
    state = card_state()
    return {"card_state": state, "visitor": current_visitor(), "card_public": state.public()}


def _client_gone(sock: socket.socket | None) -> bool:
    """True when the browser has closed the connection (a page left): its socket reads as end-of-file."""
    if sock is None:
        return False
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable) and sock.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True


@bp.get("/card/events")
def events() -> Response:
    """Server-sent events: the card state now, then every change (no identity in them, only the phase).

    Each open page holds one of the UI's threads; a page that is left must give it back at once, so the stream
    looks at its socket (gunicorn hands it over) twice a second and ends when the browser has closed it.
    """
    service = runtime().card_service
    sock = request.environ.get("gunicorn.socket")

    def stream() -> Iterator[str]:
        subscription = service.subscribe()
        ends = time.monotonic() + STREAM_MAX_SECONDS
        quiet_since = time.monotonic()
        try:
            yield "retry: 1000\n\n"
            while time.monotonic() < ends and not _client_gone(sock):
                try:
                    state = subscription.get(timeout=STREAM_POLL_SECONDS)
                except queue.Empty:
                    if time.monotonic() - quiet_since >= STREAM_KEEPALIVE_SECONDS:
                        quiet_since = time.monotonic()
                        yield ": keepalive\n\n"
                    continue
                quiet_since = time.monotonic()
                yield f"event: card\ndata: {json.dumps(state.public())}\n\n"
        finally:
            service.unsubscribe(subscription)

    response = Response(stream(), mimetype="text/event-stream")
    response.headers["X-Accel-Buffering"] = "no"
    return response


@bp.get("/signin")
def signin() -> str | BaseResponse:
    """The sign-in screen for the card in the reader: reading, the PIN keypad, or why it was refused."""
    state = card_state()
    if state.phase is Phase.SIGNED_IN and current_visitor() is not None:
        return redirect(url_for("signin.welcome"), 303)
    if state.phase not in SIGNIN_PHASES:
        return redirect(url_for("start.index"), 303)
    refusal = REFUSALS.get(state.reason) if state.reason else None
    return render_template("signin.html", state=state, refusal=refusal, pin_error=session.pop(PIN_ERROR_KEY, None))


@bp.post("/signin/pin")
def submit_pin() -> BaseResponse:
    """Pass the typed PIN to the card; never log, store or echo it (SEC-03)."""
    try:
        insertion = int(request.form.get("card", "0"))
    except ValueError:
        insertion = 0
    pin = request.form.get("pin", "")
    outcome = runtime().card_service.submit_pin(insertion, pin)
    del pin  # nothing of the PIN outlives this request in our code (the form's bytes are Werkzeug's)
    if outcome is PinOutcome.SIGNED_IN:
        session[CARD_KEY] = insertion
        return redirect(url_for("signin.welcome"), 303)
    if outcome in (PinOutcome.WRONG, PinOutcome.MALFORMED):
        session[PIN_ERROR_KEY] = str(outcome)
        return redirect(url_for("signin.signin"), 303)
    if outcome is PinOutcome.REFUSED:
        return redirect(url_for("signin.signin"), 303)
    return redirect(url_for("start.index"), 303)


@bp.get("/welcome")
def welcome() -> str | BaseResponse:
    """The signed-in visitor's start: "Välkommen, Anna (1985)", or staff with their roles."""
    visitor = current_visitor()
    if visitor is None:
        return redirect(url_for("start.index"), 303)
    from kiosk.web.start import TILES

    return render_template(
        "welcome.html",
        resident_tiles=[t for t in TILES if not t.for_staff],
    )
