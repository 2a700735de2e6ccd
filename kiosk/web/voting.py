"""Voting on the touch screen: the polls for the signed-in resident, choosing, reviewing, casting, the receipt.

Choices live only in the visit's cookie until the resident confirms (SEC-07: changing or abandoning them leaves no
trace anywhere). Confirming has the card sign, encrypts, seals and stores the ballot with its outbox row in one
transaction (`kiosk.voting.casting`); only then is the receipt shown. Works with the hub away: the polls and the
roll are the kiosk's own copies of the replicated sets.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import logging
from functools import cache
from typing import Protocol

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from markupsafe import Markup
from werkzeug.wrappers import Response

from kiosk import replica
from kiosk.eid.signin import Visitor
from kiosk.voting import casting
from kiosk.voting.polls import PollForVoter, Standing, polls_for, standing
from kiosk.web import runtime
from kiosk.web.capacity import needs_outbox_room
from kiosk.web.signin import current_visitor
from kiosk.web.visit import CARD_KEY
from protocol.ballots.poll import PollRules
from protocol.eid import HolderKind
from protocol.eid_validation import Refused
from protocol.polls import PollSetError, PollsSet, roll_from_json

log = logging.getLogger(__name__)
bp = Blueprint("voting", __name__)

CHOICE_KEY = "ballot_choice"  # {"poll": id, "chosen": [indices]} until confirmed or abandoned
RECEIPT_KEY = "receipt"  # the tracking hash of the ballot just cast (to show its receipt)


class _Notice(Protocol):
    @property
    def rules(self) -> PollRules: ...

    def labels(self, language: str) -> tuple[str, ...]: ...


class _PollAsItStands(Protocol):
    """A secret poll for a resident (`PollForVoter`) or a named one for a staff member (`NamedPollForStaff`)."""

    @property
    def notice(self) -> _Notice: ...

    @property
    def may_cast(self) -> bool: ...


def keep_choice(found: _PollAsItStands, poll_id: str, choice_key: str) -> Response:
    """Keep the posted choices in the visit under ``choice_key`` (not stored anywhere) and go on to the review;
    back to the poll page when the poll takes no ballot now or the choices break its limits. Serves both the
    secret and the named blueprints (the redirects stay in the one that asked)."""
    here = request.blueprint
    if not found.may_cast:
        return redirect(url_for(f"{here}.poll", poll_id=poll_id), 303)
    try:
        chosen = frozenset(int(value) for value in request.form.getlist("option"))
    except ValueError:
        abort(400)
    if not found.notice.rules.allows(chosen):
        return redirect(url_for(f"{here}.poll", poll_id=poll_id, fel="antal"), 303)
    session[choice_key] = {"poll": poll_id, "chosen": sorted(chosen)}
    return redirect(url_for(f"{here}.review", poll_id=poll_id), 303)


def chosen_labels(found: _PollAsItStands, poll_id: str, choice_key: str) -> list[str] | None:
    """The kept choices of this poll as the visitor's language names them; None when none are kept for it."""
    chosen = session.get(choice_key, {})
    if chosen.get("poll") != poll_id:
        return None
    from kiosk.web.preferences import current_language

    labels = found.notice.labels(current_language())
    return [labels[i] for i in chosen["chosen"]]


class VotingUnavailable(Exception):
    """The kiosk cannot take ballots right now (no polls set yet, no device key); the message says why."""


def _polls() -> PollsSet | None:
    current = replica.current(runtime().engine, "polls")
    if current is None:
        return None
    try:
        return PollsSet.from_json(current.content)
    except (PollSetError, ValueError) as exc:
        log.error("the polls set cannot be read", extra={"error": type(exc).__name__})
        return None


def _rolls() -> dict[str, object]:
    current = replica.current(runtime().engine, "roll")
    if current is None:
        return {}
    try:
        return dict(roll_from_json(current.content))
    except PollSetError:
        log.error("the roll set cannot be read")
        return {}


def _resident() -> Visitor | None:
    visitor = current_visitor()
    return visitor if visitor is not None and visitor.kind is HolderKind.RESIDENT else None


def _cast_here() -> dict[str, set[str]]:
    with runtime().sessions() as db:
        return casting.cast_here(db)


def _poll_for(poll_id: str) -> PollForVoter:
    visitor = _resident()
    polls = _polls()
    notice = polls.find(poll_id) if polls is not None else None
    if visitor is None or notice is None:
        abort(404)
    rolls = _rolls()
    return standing(
        notice,
        visitor.holder,
        rolls.get(poll_id),  # type: ignore[arg-type]
        _cast_here().get(poll_id, set()),
        dt.datetime.now(dt.UTC),
    )


@cache
def _markdown() -> object:
    from markdown_it import MarkdownIt

    # No raw HTML, no links or images: a kiosk shows the text, it does not leave for other sites.
    return MarkdownIt("commonmark", {"html": False}).disable(["link", "image", "autolink"])


def render_markdown(text: str) -> Markup:
    """A poll's description (Markdown from the hub) as safe HTML."""
    return Markup(_markdown().render(text))  # type: ignore[attr-defined]  # noqa: S704  # raw HTML is off


def _text(texts: dict[str, str], language: str) -> str:
    return texts.get(language) or texts.get("sv") or next(iter(texts.values()), "")


@bp.app_template_filter("datetime_from_ms")
def datetime_from_ms(value: int) -> dt.datetime:
    """Unix milliseconds (as the protocol writes times) as an aware datetime, for Babel's formatting."""
    return dt.datetime.fromtimestamp(int(value) / 1000, dt.UTC)


@bp.app_template_global("poll_text")
def poll_text(texts: dict[str, str]) -> str:
    """A poll's title or description in the visit's language (Swedish when there is none in it)."""
    from kiosk.web.preferences import current_language

    return _text(dict(texts), current_language())


@bp.get("/vote")
def index() -> str | Response:
    """The polls for the signed-in resident; staff go to their named polls; without a card, how to take part."""
    visitor = current_visitor()
    if visitor is not None and visitor.kind is HolderKind.STAFF:
        return redirect(url_for("named_voting.index"), 303)
    if visitor is None or visitor.kind is not HolderKind.RESIDENT:
        return render_template("voting/insert_card.html", staff=visitor is not None)
    polls = polls_for(_polls(), _rolls(), visitor.holder, _cast_here(), dt.datetime.now(dt.UTC))  # type: ignore[arg-type]
    return render_template("voting/index.html", polls=polls, Standing=Standing)


@bp.get("/vote/<poll_id>")
def poll(poll_id: str) -> str:
    """One poll: what it is about, and the options to choose from."""
    found = _poll_for(poll_id)
    chosen = session.get(CHOICE_KEY, {})
    selected = set(chosen.get("chosen", [])) if chosen.get("poll") == poll_id else set()
    from kiosk.web.preferences import current_language

    return render_template(
        "voting/poll.html",
        poll=found,
        labels=found.notice.labels(current_language()),
        description=render_markdown(_text(dict(found.notice.description), current_language())),
        selected=selected,
        error=request.args.get("fel"),
        Standing=Standing,
    )


@bp.post("/vote/<poll_id>/choose")
def choose(poll_id: str) -> Response:
    """Keep the choices in the visit (not stored anywhere) and show them for review."""
    return keep_choice(_poll_for(poll_id), poll_id, CHOICE_KEY)


@bp.get("/vote/<poll_id>/review")
def review(poll_id: str) -> str | Response:
    """The choices, to check, change or cast."""
    found = _poll_for(poll_id)
    chosen = chosen_labels(found, poll_id, CHOICE_KEY)
    if chosen is None:
        return redirect(url_for("voting.poll", poll_id=poll_id), 303)
    return render_template("voting/review.html", poll=found, chosen=chosen)


@bp.post("/vote/<poll_id>/abandon")
def abandon(poll_id: str) -> Response:
    """Leave without voting: the choices are forgotten, nothing was ever stored (SEC-07)."""
    session.pop(CHOICE_KEY, None)
    return redirect(url_for("voting.index"), 303)


def _device() -> casting.DeviceSigner:
    settings = runtime().settings
    if settings.mqtt_key_file is None or settings.mqtt_cert_file is None:
        raise VotingUnavailable("the kiosk has no device key (mqtt_key_file, mqtt_cert_file)")
    try:
        key = serialization.load_pem_private_key(settings.mqtt_key_file.read_bytes(), password=None)
        certificate_pem = settings.mqtt_cert_file.read_text(encoding="ascii")
        x509.load_pem_x509_certificate(certificate_pem.encode("ascii"))
    except (OSError, ValueError) as exc:
        raise VotingUnavailable(f"the device key cannot be read ({type(exc).__name__})") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise VotingUnavailable("the device key is not an EC key")
    return casting.DeviceSigner(key, certificate_pem, settings.device_id)


@bp.post("/vote/<poll_id>/cast")
@needs_outbox_room
def cast(poll_id: str) -> str | Response | tuple[str, int]:
    """The card signs, the ballot is encrypted, sealed and stored with its outbox row; then the receipt."""
    found = _poll_for(poll_id)
    chosen = session.get(CHOICE_KEY, {})
    visitor = _resident()
    polls = _polls()
    if chosen.get("poll") != poll_id or visitor is None or polls is None or not found.may_cast:
        return redirect(url_for("voting.poll", poll_id=poll_id), 303)
    rt = runtime()
    insertion = int(session.get(CARD_KEY) or 0)  # 0 matches no card: the card service refuses to sign
    try:
        device = _device()
        envelope = casting.prepare(
            found.notice,
            frozenset(chosen["chosen"]),
            pseudonym=found.pseudonym,
            seal_key=polls.seal_key,
            certificate_der=visitor.certificate_der,
            card_sign=lambda data: rt.card_service.sign(insertion, data),
            device=device,
            now=dt.datetime.now(dt.UTC),
        )
        with rt.sessions.begin() as db:
            receipt = casting.store(db, found.notice, envelope, device, capacity=rt.settings.outbox_capacity)
    except (Refused, VotingUnavailable) as exc:
        # Nothing was stored: the transaction never began, or rolled back. The resident is told so.
        log.warning("ballot not cast", extra={"poll": poll_id, "reason": type(exc).__name__})
        return render_template("voting/not_cast.html", poll=found), 409
    session.pop(CHOICE_KEY, None)
    session[RECEIPT_KEY] = receipt.tracking_hash
    log.info("ballot cast and stored", extra={"poll": poll_id})
    return redirect(url_for("voting.receipt", poll_id=poll_id), 303)


def _qr_data_uri(text: str) -> str:
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


@bp.get("/vote/<poll_id>/receipt")
def receipt(poll_id: str) -> str | Response:
    """The receipt of the ballot just cast: the tracking code and a QR code that opens it on the board."""
    found = _poll_for(poll_id)
    tracking = session.get(RECEIPT_KEY)
    with runtime().sessions() as db:
        shown = casting.find_receipt(db, found.notice, tracking) if tracking else None
    if shown is None:
        return redirect(url_for("voting.index"), 303)
    qr = _qr_data_uri(shown.lookup_url) if shown.lookup_url else None
    return render_template("voting/receipt.html", poll=found, receipt=shown, qr=qr)


@bp.app_errorhandler(VotingUnavailable)
def _unavailable(exc: VotingUnavailable) -> tuple[str, int]:
    log.error("voting unavailable", extra={"reason": str(exc)})
    return (
        render_template(
            "error.html",
            status=503,
            title=_("Voting is not available at this kiosk right now"),
            text=_("Nothing was stored. Please ask the staff for help."),
        ),
        503,
    )
