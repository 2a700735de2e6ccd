"""The public records at the kiosk: search by touch, read a document, the notice board, ask for a document.

Everything is read from the kiosk's own database and file cache, so it works the same while the hub is away;
a file the cache does not hold is said to be missing, and the kiosk fetches it later. Asking for a document is
an action: stored with its outbox row in one transaction, sent to the hub by the sync agent.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, jsonify, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from kiosk import outbox
from kiosk.records import cache, lookup, pages
from kiosk.web import runtime
from kiosk.web.capacity import needs_outbox_room
from protocol.records import (
    DOCUMENT_REQUEST,
    MAX_CONTACT,
    MAX_DESCRIPTION,
    holds_personnummer,
    new_reference,
    request_body,
)

bp = Blueprint("records", __name__)

KINDS = {
    "decision": _l("Decision"),
    "minutes": _l("Minutes"),
    "agenda": _l("Agenda"),
    "notice": _l("Notice"),
    "incoming": _l("Incoming"),
    "outgoing": _l("Outgoing"),
    "memo": _l("Memo"),
}
MAX_ID = 2**31 - 1


@bp.app_context_processor
def _names() -> dict[str, object]:
    return {"kind_names": KINDS}


@bp.get("/documents")
def search() -> str:
    """The search screen: a box with an on-screen keyboard, filters, results."""
    raw = request.args.get("q", "")[:200]
    board = (request.args.get("board") or "")[:6].upper() or None
    kind = request.args.get("kind") if request.args.get("kind") in KINDS else None
    date_from, date_to = _date("from"), _date("to")
    page = request.args.get("page", default=1, type=int) or 1
    rt = runtime()
    with rt.sessions() as session:
        results = (
            lookup.search(session, raw, board=board, kind=kind, date_from=date_from, date_to=date_to, page=page)
            if raw.strip()
            else None
        )
        latest = [] if results else lookup.latest(session)
        boards = lookup.boards(session)
    return render_template(
        "records/search.html",
        q=raw,
        results=results,
        latest=latest,
        boards=boards,
        board=board,
        kind=kind,
        date_from=date_from.isoformat() if date_from else "",
        date_to=date_to.isoformat() if date_to else "",
    )


def _date(name: str) -> dt.date | None:
    """A date filter from the query string (``YYYY-MM-DD``, as a date field sends it); anything else is none."""
    try:
        return dt.date.fromisoformat(request.args.get(name, "")[:10])
    except ValueError:
        return None


@bp.get("/documents/suggest")
def suggest() -> Response:
    """Titles matching what has been typed so far (for the suggestions under the box)."""
    with runtime().sessions() as session:
        return jsonify({"suggestions": lookup.suggestions(session, request.args.get("q", "")[:200])})


def _document_or_404(document_id: int):  # type: ignore[no-untyped-def]
    if document_id > MAX_ID:
        abort(404)
    with runtime().sessions() as session:
        document = lookup.find_document(session, document_id)
    if document is None:
        abort(404)
    return document


@bp.get("/documents/<int:document_id>")
def document(document_id: int) -> str:
    """A document: its facts, its pages (or text) if the kiosk holds the file, a QR code to open it on a phone."""
    rt = runtime()
    doc = _document_or_404(document_id)
    page = request.args.get("page", default=1, type=int) or 1
    zoom = request.args.get("zoom", default=1.0, type=float) or 1.0
    zoom = zoom if zoom in pages.ZOOMS else 1.0
    cached, count = False, None
    if doc.file_sha256:
        with rt.sessions.begin() as session:
            cached = cache.is_cached(session, rt.settings, doc.file_sha256)
            cache.record_view(session, doc.file_sha256, missing=not cached)
        if cached and doc.media_type == "application/pdf":
            try:
                count = pages.page_count(cache.file_path(rt.settings, doc.file_sha256))
            except pages.PageError:
                cached = False
    page = max(1, min(page, count or 1))
    base = lookup.public_url(rt.engine)
    link = f"{base}/documents/{doc.id}" if base else None
    return render_template(
        "records/document.html",
        d=doc,
        cached=cached,
        count=count,
        page=page,
        zoom=zoom,
        zooms=pages.ZOOMS,
        qr=pages.qr_data_uri(link) if link else None,
        link=link,
    )


@bp.get("/documents/<int:document_id>/page/<int:number>.png")
def page_image(document_id: int, number: int) -> Response:
    """One page of a cached PDF as an image."""
    rt = runtime()
    doc = _document_or_404(document_id)
    zoom = request.args.get("zoom", default=1.0, type=float) or 1.0
    if not doc.file_sha256 or doc.media_type != "application/pdf":
        abort(404)
    with rt.sessions() as session:
        if not cache.is_cached(session, rt.settings, doc.file_sha256):
            abort(404)
    try:
        png = pages.render_png(cache.file_path(rt.settings, doc.file_sha256), number, zoom)
    except pages.PageError:
        abort(404)
    return Response(png, mimetype="image/png")


@bp.get("/notice-board")
def notice_board() -> str:
    """The notice board, as the kiosk's clock sees today."""
    rt = runtime()
    today = dt.datetime.now(ZoneInfo(rt.settings.timezone)).date()
    return render_template("records/notice_board.html", notices=lookup.notices_today(rt.engine, today))


@bp.route("/request", methods=["GET", "POST"])
@needs_outbox_room
def ask() -> str | tuple[str, int]:
    """Ask for a document: anonymous, a contact only if the resident wants the answer sent."""
    rt = runtime()
    document_id = request.values.get("document", type=int)
    doc = _document_or_404(document_id) if document_id is not None else None
    if request.method == "GET":
        return render_template("records/request.html", d=doc, error=None, description="", contact="")
    description = " ".join((request.form.get("description") or "").split())[:MAX_DESCRIPTION]
    contact = " ".join((request.form.get("contact") or "").split())[:MAX_CONTACT] or None
    error = None
    if doc is None and not description:
        error = _("Write which document you would like to see.")
    elif holds_personnummer(description) or holds_personnummer(contact or ""):
        # SEC-14: a personnummer never enters the kiosk's database or an MQTT payload; nor does the request need one.
        error = _("Do not write a personal identity number here. The request does not need one.")
        description, contact = "", None
    if error:
        page = render_template(
            "records/request.html", d=doc, error=error, description=description, contact=contact or ""
        )
        return page, 400
    reference = new_reference()
    body = request_body(
        reference,
        document_id=doc.id if doc else None,
        case_number=doc.case_number if doc else None,
        description=description,
        contact=contact,
    )
    with rt.sessions.begin() as session:
        outbox.enqueue(session, DOCUMENT_REQUEST, body, capacity=rt.settings.outbox_capacity)
    return render_template("records/request_sent.html", reference=reference, d=doc)
