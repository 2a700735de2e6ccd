"""Public documents on the hub's web: search, a document's page and file, the notice board, asking for one.

Residents at home and phones that scanned a kiosk's QR code land here. Only what `hub.registry.public`
answers is shown; a file is served only when it may leave the hub.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from flask import Blueprint, abort, render_template, request, send_file, url_for
from werkzeug.wrappers import Response

from hub.registry import public, requests, search
from hub.registry.rules import RegistryError
from hub.registry.store import FileStore
from hub.web.context import hub_context, work
from hub.web.registry_forms import PublicRequestForm, kind_choices
from hub.web.registry_text import explain, template_helpers

bp = Blueprint("records", __name__)
MAX_ID = 2**31 - 1  # ids are 32-bit in both databases; a larger one names nothing
bp.context_processor(template_helpers)


def _date(name: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


def filters_from_args() -> search.Filters:
    """Search filters from the query string; anything unreadable is ignored."""
    board = (request.args.get("board") or "").strip().upper()[:6] or None
    kind = request.args.get("kind") or None
    if kind not in {value for value, _label in kind_choices()}:
        kind = None
    return search.Filters(board=board, kind=kind, date_from=_date("from"), date_to=_date("to"))


@bp.get("/documents")
def documents() -> str:
    """The search page: a box, filters, and ranked results with the matched words marked."""
    raw = request.args.get("q", "")
    page = request.args.get("page", default=1, type=int) or 1
    results = None
    with work(write=False) as db:
        if raw.strip():
            results = public.find_documents(db, raw, filters_from_args(), page)
            latest = []
        else:
            latest = public.latest_documents(db)
    return render_template(
        "public/documents.html",
        q=raw,
        results=results,
        latest=latest,
        kinds=kind_choices(),
        args=request.args,
        page_url=_page_url,
    )


def _page_url(number: int) -> str:
    # The query string goes after url_for's URL, not into its keywords: an argument named ``endpoint``, ``_external``,
    # ``_scheme``, ``_anchor`` or ``_method`` would otherwise be taken as url_for's own (a 500, or a link elsewhere).
    query = {**request.args.to_dict(), "page": str(number)}
    return f"{url_for('records.documents')}?{urlencode(query)}"


@bp.get("/documents/<int:document_id>")
def document(document_id: int) -> str:
    """A published document: its facts, its file if public, and a way to ask for it if not."""
    if document_id > MAX_ID:
        abort(404)
    with work(write=False) as db:
        entry = public.find_document(db, document_id)
    if entry is None:
        abort(404)
    return render_template("public/document.html", d=entry, form=PublicRequestForm())


@bp.get("/documents/<int:document_id>/file")
def document_file(document_id: int) -> Response:
    """The document's file, when it may be public (inline, with its real type)."""
    if document_id > MAX_ID:
        abort(404)
    with work(write=False) as db:
        entry = public.find_document(db, document_id)
    if entry is None or entry["file"] is None:
        abort(404)
    path = FileStore(hub_context().settings.files_dir).path(entry["file"]["sha256"])
    if not path.is_file():
        abort(404)
    suffix = {"application/pdf": ".pdf", "text/plain": ".txt"}.get(entry["file"]["media_type"], "")
    return send_file(
        path,
        mimetype=entry["file"]["media_type"],
        download_name=entry["number"].replace(" ", "_").replace("/", "-") + suffix,
        conditional=True,
        etag=entry["file"]["sha256"],
    )


@bp.get("/notice-board")
def notice_board() -> str:
    """The notice board (anslagstavla) as it stands today."""
    with work(write=False) as db:
        notices = public.notices_today(db)
    return render_template("public/notice_board.html", notices=notices)


@bp.route("/request", methods=["GET", "POST"])
def ask() -> tuple[str, int] | str:
    """Ask for a document (anonymous; a contact is optional)."""
    form = PublicRequestForm()
    document_id = request.values.get("document", type=int)
    entry = None
    if document_id is not None and 0 < document_id <= MAX_ID:
        with work(write=False) as db:
            entry = public.find_document(db, document_id)
    if request.method == "POST" and form.validate_on_submit():
        try:
            with work() as db:
                made = requests.create_request(
                    db,
                    description=form.description.data or "",
                    contact=form.contact.data or None,
                    channel="web",
                    document_id=entry["id"] if entry else None,
                    case_number=entry["case_number"] if entry else None,
                )
        except RegistryError as exc:
            return render_template("public/request.html", form=form, d=entry, error=explain(exc)), 400
        return render_template("public/request_sent.html", reference=made.reference, due=made.due_at)
    status = 400 if request.method == "POST" else 200
    return render_template("public/request.html", form=form, d=entry, error=None), status
