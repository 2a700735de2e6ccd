"""The public poll pages under ``/val/``: the polls, each poll's bulletin board with a tracking-code search (the
kiosk receipt's QR code opens ``/val/<poll>?kod=<code>``), and after publication the result, its chart and the
election record to check with ``tinget verify``. No sign-in; only what `hub.polls.public` answers is shown. A named
poll (staff vote) has its own template, fed only by `named_board.named_rows` (D83).
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, abort, render_template, request, url_for
from flask_babel import get_locale
from werkzeug.wrappers import Response

from hub.polls import counting, drafts, named_board, public
from hub.polls.drafts import PollError
from hub.polls.models import Poll
from hub.web.context import hub_context, work
from hub.web.forms import role_labels
from hub.web.poll_chart import ResultChart, result_chart, share
from hub.web.poll_forms import local
from hub.web.poll_text import template_helpers
from protocol.polls import POLL_ID

bp = Blueprint("polls", __name__)
bp.context_processor(template_helpers)
CODE = re.compile(r"[A-Za-z2-7 -]{4,40}|[0-9a-fA-F]{64}")  # a receipt's base32 code (grouped), or the full hash


def _valid(poll_id: str) -> str:
    if POLL_ID.fullmatch(poll_id) is None:
        abort(404)
    return poll_id


def _label(sv: str, en: str) -> str:
    return en if str(get_locale()) == "en" and en else sv


@bp.get("/val/")
def index() -> str:
    """The polls that are open, closed or published."""
    with work(write=False) as db:
        polls = public.public_polls(db)
        for item in polls:
            db.expunge(item)
    return render_template("public/polls.html", polls=polls, local=local, label=_label)


@bp.get("/val/<poll_id>")
def poll(poll_id: str) -> str:
    """A poll's page: its text, the board with its head, a tracking-code search, and the result once published."""
    page = request.args.get("page", default=1, type=int) or 1
    raw_code = request.args.get("kod", "")[:80].strip()
    with work(write=False) as db:
        found = public.find_public_poll(db, _valid(poll_id))
        if found is None:
            abort(404)
        if not found.secret:
            db.expunge(found)
            return _named_poll(found, raw_code)
        entries, pages = public.board_page(db, poll_id, page)
        looked_up = public.find_entry(db, poll_id, raw_code) if CODE.fullmatch(raw_code) else None
        result = public.published_result(db, found)
        options = drafts.options_of(found)
        head = counting.head_of(found)
        db.expunge(found)
    return render_template(
        "public/poll.html",
        poll=found,
        options=options,
        label=_label,
        local=local,
        head=head,
        entries=entries,
        page=min(max(page, 1), pages),
        pages=pages,
        code=raw_code,
        looked_up=looked_up,
        result=result,
        chart=_chart(result),
        share=share,
        page_url=lambda number: url_for("polls.poll", poll_id=poll_id, page=number),
    )


def _chart(result: dict[str, Any] | None) -> ResultChart | None:
    if result is None:
        return None
    rows = [(_label(o["label"]["sv"], o["label"]["en"] or ""), o["votes"]) for o in result["options"]]
    return result_chart(rows, result["counted"])


def _named_poll(poll: Poll, raw_code: str) -> str:
    """A named poll's page (D77, D78): never the secret board's template. Every line with the name and employee
    id, the choice once closed; the result, chart and record once published."""
    language = "en" if str(get_locale()) == "en" else "sv"
    with work(write=False) as db:
        rows = named_board.named_rows(db, poll.id, language)
        looked_up = public.find_named_row(db, poll.id, raw_code, language) if CODE.fullmatch(raw_code) else None
        result = public.published_result(db, poll)
        roles = drafts.roles_of(poll)
    return render_template(
        "public/poll_named.html",
        poll=poll,
        options=drafts.options_of(poll),
        roles=roles,
        role_names=dict(role_labels()),
        label=_label,
        local=local,
        head=counting.head_of(poll),
        rows=rows,
        code=raw_code,
        looked_up=looked_up,
        result=result,
        chart=_chart(result),
        share=share,
    )


@bp.get("/val/<poll_id>/record.jsonl")
def record(poll_id: str) -> Response:
    """The published election record, byte for byte (check it with ``tinget verify FILE``), streamed."""
    try:
        with work(write=False) as db:
            found = counting.record_file(db, _valid(poll_id))
    except PollError:
        abort(404)
    chunks = counting.record_chunks(hub_context().sessions, poll_id, found.size)
    response = Response(chunks, mimetype="application/jsonl")
    response.headers["Content-Length"] = str(found.size)
    response.headers["Content-Disposition"] = f'attachment; filename="record-{poll_id}.jsonl"'
    response.set_etag(found.sha256)
    return response
