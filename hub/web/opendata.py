"""Open data: the read-only JSON API under ``/api/v1/`` and Atom feeds, for anyone, without an account.

What it serves is what the public web shows (`hub.registry.public`, `hub.polls.public`). ``/api/v1/openapi.json``
describes it (`hub.web.openapi`); the tests check every operation against that description with schemathesis.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Response, abort, jsonify, request, url_for

from hub.polls import public as poll_public
from hub.registry import public, search
from hub.web.context import hub_context, work
from hub.web.errors import error_response
from hub.web.openapi import openapi_document
from hub.web.registry_forms import kind_choices
from protocol.polls import POLL_ID

bp = Blueprint("opendata", __name__)
API = "/api/v1"
MAX_PAGE = 25  # 25 pages of 20: the ranked window (protocol.search.WINDOW)
MAX_ID = 2**31 - 1  # ids are 32-bit in both databases; a larger one names nothing


class BadParameter(Exception):
    """A query parameter the API cannot read; answered with 400 and its name."""


def _page() -> int:
    raw = request.args.get("page", "1")
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE:
        raise BadParameter(f"page must be a whole number from 1 to {MAX_PAGE}")
    return int(raw)


def _date(name: str) -> dt.date | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise BadParameter(f"{name} must be a date like 2026-03-04") from None


def _filters() -> search.Filters:
    board = request.args.get("board") or None
    if board is not None and (len(board) > 6 or not board.isalpha()):
        raise BadParameter("board must be 1-6 letters, such as KS")
    kind = request.args.get("kind") or None
    if kind is not None and kind not in {value for value, _label in kind_choices()}:
        raise BadParameter("kind must be one of the document types")
    return search.Filters(
        board=board.upper() if board else None, kind=kind, date_from=_date("from"), date_to=_date("to")
    )


def with_links(entry: dict[str, Any], *, text: bool) -> dict[str, Any]:
    """An entry with its web address and file address; the text only when asked for."""
    base = hub_context().settings.public_url.rstrip("/")
    out = {key: value for key, value in entry.items() if key != "text"}
    out["url"] = base + url_for("records.document", document_id=entry["id"])
    if entry["file"] is not None:
        out["file"] = {**entry["file"], "url": base + url_for("records.document_file", document_id=entry["id"])}
    if text:
        out["text"] = entry["text"]
    return out


@bp.errorhandler(BadParameter)
def _bad_parameter(exc: BadParameter) -> tuple[Response | str, int]:
    return error_response(400, str(exc))


@bp.get(f"{API}/openapi.json")
def openapi() -> Response:
    """The OpenAPI 3.1 description of this API."""
    return jsonify(openapi_document(hub_context().settings.public_url))


@bp.get(f"{API}/documents")
def documents() -> Response:
    """Published documents: a search (``q``, filters) or, without ``q``, the most recently published."""
    page, filters, raw = _page(), _filters(), request.args.get("q", "")[:200]
    with work(write=False) as db:
        if raw.strip():
            results = public.find_documents(db, raw, filters, page)
            found, total, more = [hit.entry for hit in results.hits], results.total, results.more
        else:
            found = public.latest_documents(db, limit=public.PER_PAGE, offset=(page - 1) * public.PER_PAGE)
            total, more = public.count_published(db), False
    return jsonify(
        {
            "page": page,
            "per_page": public.PER_PAGE,
            "total": total,
            "more": more,
            "documents": [with_links(e, text=False) for e in found],
        }
    )


@bp.get(f"{API}/documents/<int:document_id>")
def document(document_id: int) -> Response:
    """One published document, with its text when it is public."""
    if document_id > MAX_ID:
        abort(404)
    with work(write=False) as db:
        entry = public.find_document(db, document_id)
    if entry is None:
        abort(404)
    return jsonify(with_links(entry, text=True))


@bp.get(f"{API}/cases")
def cases() -> Response:
    """Cases with published documents, newest first."""
    page = _page()
    with work(write=False) as db:
        found = public.public_cases(db, limit=public.PER_PAGE, offset=(page - 1) * public.PER_PAGE)
    return jsonify({"page": page, "per_page": public.PER_PAGE, "cases": found})


@bp.get(f"{API}/cases/<int:case_id>")
def case(case_id: int) -> Response:
    """One case with its published documents."""
    if case_id > MAX_ID:
        abort(404)
    with work(write=False) as db:
        found = public.public_case(db, case_id)
    if found is None:
        abort(404)
    found["documents"] = [with_links(e, text=False) for e in found["documents"]]
    return jsonify(found)


@bp.get(f"{API}/notices")
def notices() -> Response:
    """The notice board today."""
    with work(write=False) as db:
        return jsonify({"notices": public.notices_today(db)})


def _with_record_url(result: dict[str, Any]) -> dict[str, Any]:
    base = hub_context().settings.public_url.rstrip("/")
    return {
        **result,
        "url": base + url_for("polls.poll", poll_id=result["poll_id"]),
        "record_url": base + url_for("polls.record", poll_id=result["poll_id"]),
    }


@bp.get(f"{API}/poll-results")
def poll_results() -> Response:
    """Results of published polls, the latest closed first (nothing before publication, SEC-06)."""
    with work(write=False) as db:
        found = poll_public.published_results(db)
    return jsonify({"poll_results": [_with_record_url(r) for r in found]})


@bp.get(f"{API}/poll-results/<poll_id>")
def poll_result(poll_id: str) -> Response:
    """One published poll's result."""
    if POLL_ID.fullmatch(poll_id) is None:
        abort(404)
    with work(write=False) as db:
        poll = poll_public.find_public_poll(db, poll_id)
        found = None if poll is None else poll_public.published_result(db, poll)
    if found is None:
        abort(404)
    return jsonify(_with_record_url(found))


def _feed(title: str, path: str, items: list[dict[str, Any]]) -> Response:
    from feedgen.feed import FeedGenerator

    base = hub_context().settings.public_url.rstrip("/")
    feed = FeedGenerator()
    feed.id(base + path)
    feed.title(title)
    feed.link(href=base + path, rel="self")
    feed.language("sv")
    feed.updated(dt.datetime.now(dt.UTC))
    for item in items:
        entry = feed.add_entry(order="append")
        entry.id(item["url"])
        entry.title(item["title"])
        entry.link(href=item["url"])
        entry.summary(item["summary"])
        entry.updated(item["updated"])
    return Response(feed.atom_str(pretty=True), mimetype="application/atom+xml")


def _midnight(iso: str) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(iso), dt.time(), dt.UTC)


@bp.get("/feeds/notices.atom")
def notices_feed() -> Response:
    """The notice board as an Atom feed."""
    base = hub_context().settings.public_url.rstrip("/")
    with work(write=False) as db:
        found = public.notices_today(db)
    items = [
        {
            "url": f"{base}{url_for('records.notice_board')}#notice-{n['id']}",
            "title": n["title"],
            "summary": n["body"],
            "updated": _midnight(n["posted_on"]),
        }
        for n in found
    ]
    return _feed("Anslagstavlan", url_for("opendata.notices_feed"), items)


@bp.get("/feeds/decisions.atom")
def decisions_feed() -> Response:
    """Newly published decisions as an Atom feed."""
    with work(write=False) as db:
        found = [with_links(e, text=False) for e in public.latest_documents(db, kind="decision", limit=50)]
    items = [
        {
            "url": e["url"],
            "title": f"{e['number']} {e['title']}".strip(),
            "summary": e["case_title"],
            "updated": _midnight(e["date"]),
        }
        for e in found
    ]
    return _feed("Nya beslut", url_for("opendata.decisions_feed"), items)
