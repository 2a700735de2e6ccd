"""Staff votes on the touch screen (named polls, D77): the named polls for the signed-in staff member, choosing,
reviewing, casting, the receipt.

A named ballot is public by name by design: the poll page and the review page both say so before anything is
cast. Choices live only in the visit's cookie until the staff member confirms (SEC-07); confirming has the card
sign the plain ballot, the device sign the envelope, and stores it with its outbox row in one transaction
(`kiosk.voting.named`). Works with the hub away: the named polls come with the kiosk's copy of the polls set,
the roles with the staff list the member signed in with.
"""

from __future__ import annotations

import datetime as dt
import logging

from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from kiosk.eid.signin import Visitor
from kiosk.voting import casting
from kiosk.voting import named as named_voting
from kiosk.voting.named import NamedPollForStaff, NamedStanding
from kiosk.web import runtime
from kiosk.web.capacity import needs_outbox_room
from kiosk.web.signin import current_visitor
from kiosk.web.visit import CARD_KEY
from kiosk.web.voting import (
    RECEIPT_KEY,
    VotingUnavailable,
    _cast_here,
    _device,
    _polls,
    _qr_data_uri,
    _text,
    chosen_labels,
    keep_choice,
    render_markdown,
)
from protocol.eid import HolderKind
from protocol.eid_validation import Refused

log = logging.getLogger(__name__)
bp = Blueprint("named_voting", __name__)

CHOICE_KEY = "named_choice"  # {"poll": id, "chosen": [indices]} until confirmed or abandoned


def _staff() -> Visitor | None:
    visitor = current_visitor()
    if visitor is None or visitor.kind is not HolderKind.STAFF or not visitor.holder.employee_id:
        return None
    return visitor


def _poll_for(poll_id: str) -> tuple[Visitor, NamedPollForStaff]:
    visitor = _staff()
    polls = _polls()
    notice = polls.find_named(poll_id) if polls is not None else None
    if visitor is None or notice is None:
        abort(404)
    employee_id = visitor.holder.employee_id or ""
    cast_here = _cast_here().get(poll_id, set())
    return visitor, named_voting.standing(notice, visitor.roles, employee_id, cast_here, dt.datetime.now(dt.UTC))


@bp.get("/staff-vote")
def index() -> str | Response:
    """The named polls for the signed-in staff member; anyone else goes to the residents' polls."""
    visitor = _staff()
    if visitor is None:
        return redirect(url_for("voting.index"), 303)
    polls = named_voting.named_polls_for(
        _polls(), visitor.roles, visitor.holder.employee_id or "", _cast_here(), dt.datetime.now(dt.UTC)
    )
    return render_template("voting/named_index.html", polls=polls, Standing=NamedStanding)


@bp.get("/staff-vote/<poll_id>")
def poll(poll_id: str) -> str:
    """One named poll: what it is about, that the vote is public by name, and the options."""
    _visitor, found = _poll_for(poll_id)
    chosen = session.get(CHOICE_KEY, {})
    selected = set(chosen.get("chosen", [])) if chosen.get("poll") == poll_id else set()
    from kiosk.web.preferences import current_language

    return render_template(
        "voting/named_poll.html",
        poll=found,
        labels=found.notice.labels(current_language()),
        description=render_markdown(_text(dict(found.notice.description), current_language())),
        selected=selected,
        error=request.args.get("fel"),
        Standing=NamedStanding,
    )


@bp.post("/staff-vote/<poll_id>/choose")
def choose(poll_id: str) -> Response:
    """Keep the choices in the visit (not stored anywhere) and show them for review."""
    _visitor, found = _poll_for(poll_id)
    return keep_choice(found, poll_id, CHOICE_KEY)


@bp.get("/staff-vote/<poll_id>/review")
def review(poll_id: str) -> str | Response:
    """The choices, with the name they will be published under, to check, change or cast."""
    visitor, found = _poll_for(poll_id)
    chosen = chosen_labels(found, poll_id, CHOICE_KEY)
    if chosen is None:
        return redirect(url_for("named_voting.poll", poll_id=poll_id), 303)
    return render_template(
        "voting/named_review.html",
        poll=found,
        chosen=chosen,
        full_name=visitor.holder.full_name,
        employee_id=visitor.holder.employee_id,
    )


@bp.post("/staff-vote/<poll_id>/abandon")
def abandon(poll_id: str) -> Response:
    """Leave without voting: the choices are forgotten, nothing was ever stored (SEC-07)."""
    session.pop(CHOICE_KEY, None)
    return redirect(url_for("named_voting.index"), 303)


@bp.post("/staff-vote/<poll_id>/cast")
@needs_outbox_room
def cast(poll_id: str) -> str | Response | tuple[str, int]:
    """The card signs the plain ballot, the device the envelope; stored with its outbox row; then the receipt."""
    visitor, found = _poll_for(poll_id)
    chosen = session.get(CHOICE_KEY, {})
    if chosen.get("poll") != poll_id or not found.may_cast:
        return redirect(url_for("named_voting.poll", poll_id=poll_id), 303)
    rt = runtime()
    insertion = int(session.get(CARD_KEY) or 0)  # 0 matches no card: the card service refuses to sign
    try:
        device = _device()
        envelope = named_voting.prepare(
            found.notice,
            frozenset(chosen["chosen"]),
            employee_id=visitor.holder.employee_id or "",
            certificate_der=visitor.certificate_der,
            card_sign=lambda data: rt.card_service.sign(insertion, data),
            device=device,
            now=dt.datetime.now(dt.UTC),
        )
        with rt.sessions.begin() as db:
            receipt = named_voting.store(db, found.notice, envelope, device, capacity=rt.settings.outbox_capacity)
    except (Refused, VotingUnavailable) as exc:
        log.warning("named ballot not cast", extra={"poll": poll_id, "reason": type(exc).__name__})
        return render_template("voting/not_cast.html", poll=found), 409
    session.pop(CHOICE_KEY, None)
    session[RECEIPT_KEY] = receipt.tracking_hash
    log.info("named ballot cast and stored", extra={"poll": poll_id})
    return redirect(url_for("named_voting.receipt", poll_id=poll_id), 303)


@bp.get("/staff-vote/<poll_id>/receipt")
def receipt(poll_id: str) -> str | Response:
    """The receipt: the ballot's code, and where the public board shows it with the name."""
    _visitor, found = _poll_for(poll_id)
    tracking = session.get(RECEIPT_KEY)
    with runtime().sessions() as db:
        shown = casting.find_receipt(db, found.notice, tracking) if tracking else None
    if shown is None:
        return redirect(url_for("named_voting.index"), 303)
    qr = _qr_data_uri(shown.lookup_url) if shown.lookup_url else None
    return render_template("voting/named_receipt.html", poll=found, receipt=shown, qr=qr)
