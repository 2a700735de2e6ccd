"""The trustees' pages: for a signed-in staff member named as a poll's trustee, and for no one else.

A trustee runs `tinget trustee …` on their own machine (the key share never touches the hub, SEC-05); these
pages carry the files: ``ceremony.json`` and each completed round's files down, the trustee's own round file
up, and after the close the closed board down and the partial decryption up. The page says which command to run
at each step. The service checks that an uploaded file is the signed-in trustee's own (``as_trustee``).
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from hub.polls import ceremony, counting, drafts, public
from hub.polls.ceremony import KEYGEN_ROUNDS
from hub.polls.drafts import PollError
from hub.polls.models import Poll
from hub.web import auth
from hub.web.admin import bp
from hub.web.admin.polls import actor, valid_id
from hub.web.context import work
from hub.web.forms import ConfirmForm
from hub.web.poll_forms import FileForm
from hub.web.poll_text import explain
from protocol import codec

MAX_TRUSTEE_FILE = 1024 * 1024  # the hub's form limit; a partial decryption of a 20-option poll is a few kB


def _my_number(poll: Poll) -> int:
    """The signed-in member's trustee number in ``poll``; 403 when they are not its trustee."""
    names = drafts.trustees_of(poll)
    me = actor()
    if me not in names:
        abort(403)
    return names.index(me) + 1


def next_step(poll: Poll, me: int, status: dict[str, list[int]], partial_in: bool) -> str:
    """What this trustee does next: one of the steps the page explains."""
    if poll.state == "draft":
        if poll.election_key is not None:
            return "key_ready"
        n = len(drafts.trustees_of(poll))
        for kind in KEYGEN_ROUNDS:
            if me not in status[kind]:
                return kind
            if len(status[kind]) < n:
                return "wait"
        return "wait"
    if poll.state == "open":
        return "open"
    if poll.state == "closed" and not partial_in:
        return "decrypt"
    return "done"


@bp.get("/trustee/")
@auth.signin_required
def trustee() -> str:
    """The polls the signed-in member holds a key for."""
    me = actor()
    with work(write=False) as db:
        mine = [p for p in drafts.list_polls(db) if me in drafts.trustees_of(p)]
        for item in mine:
            db.expunge(item)
    return render_template("admin/trustee.html", polls=mine)


def _page(poll_id: str, *, error: str | None = None, status: int = 200) -> tuple[str, int]:
    with work(write=False) as db:
        poll = drafts.find_poll(db, valid_id(poll_id))
        if poll is None:
            abort(404)
        me = _my_number(poll)
        files = ceremony.ceremony_status(db, poll_id)
        partials = public.partial_trustees(db, poll_id)
        db.expunge(poll)
    n = len(drafts.trustees_of(poll))
    complete = [kind for kind in KEYGEN_ROUNDS if len(files[kind]) == n]
    html = render_template(
        "admin/trustee_poll.html",
        poll=poll,
        me=me,
        n=n,
        files=files,
        complete=complete,
        others=[i for i in range(1, n + 1) if i != me],
        step=next_step(poll, me, files, me in partials),
        partials=partials,
        head=counting.head_of(poll),
        form=FileForm(),
        error=error,
    )
    return html, status


@bp.get("/trustee/<poll_id>")
@auth.signin_required
def trustee_poll(poll_id: str) -> tuple[str, int]:
    """This trustee's steps in one poll."""
    return _page(poll_id)


def _download(data: bytes, name: str, mimetype: str = "application/json") -> Response:
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _poll_for_trustee(poll_id: str) -> None:
    with work(write=False) as db:
        poll = drafts.find_poll(db, valid_id(poll_id))
        if poll is None:
            abort(404)
        _my_number(poll)


@bp.get("/trustee/<poll_id>/ceremony.json")
@auth.signin_required
def trustee_ceremony(poll_id: str) -> Response:
    """``ceremony.json``: what every trustee's round 1 starts from."""
    _poll_for_trustee(poll_id)
    try:
        with work(write=False) as db:
            data = ceremony.ceremony_json(db, poll_id)
    except PollError:
        abort(404)
    return _download(codec.encode(data) + b"\n", "ceremony.json")


@bp.get("/trustee/<poll_id>/files/<any(announce, deliver, confirm):kind>-<int:index>.json")
@auth.signin_required
def trustee_file(poll_id: str, kind: str, index: int) -> Response:
    """One trustee's file of a completed round (every trustee needs them all for the next round)."""
    _poll_for_trustee(poll_id)
    try:
        with work(write=False) as db:
            files = ceremony.round_files(db, poll_id, kind)
    except PollError:
        abort(404)
    if not 1 <= index <= len(files):
        abort(404)
    return _download(codec.encode(files[index - 1]) + b"\n", f"{kind}-{index}.json")


@bp.get("/trustee/<poll_id>/board.jsonl")
@auth.signin_required
def trustee_board(poll_id: str) -> Response:
    """The closed board to check and decrypt; refused (404) before the close."""
    _poll_for_trustee(poll_id)
    try:
        with work(write=False) as db:
            data = counting.closed_board(db, poll_id)
    except PollError:
        abort(404)
    return _download(data, f"board-{poll_id}.jsonl", "application/jsonl")


def _uploaded_json() -> object:
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise PollError("choose the file to upload")
    try:
        return codec.decode(upload.stream.read(MAX_TRUSTEE_FILE + 1), max_size=MAX_TRUSTEE_FILE, canonical=False)
    except codec.DecodeError:
        raise PollError("the file is not JSON") from None


def _explain_upload(exc: PollError) -> str:
    if str(exc) == "choose the file to upload":
        return str(_("Choose the file to upload."))
    if str(exc) == "the file is not JSON":
        return str(_("The file is not a JSON file from tinget trustee."))
    return explain(exc)


@bp.post("/trustee/<poll_id>/round")
@auth.signin_required
def trustee_round(poll_id: str) -> Response | tuple[str, int]:
    """Upload this trustee's round file (announce, deliver or confirm)."""
    _poll_for_trustee(poll_id)
    if not FileForm().validate_on_submit():
        abort(400)
    try:
        data = _uploaded_json()
        with work() as db:
            kind, index = ceremony.upload_round(db, poll_id, data, actor=actor(), as_trustee=actor())
            done = drafts.get_poll(db, poll_id).election_key is not None
    except PollError as exc:
        return _page(poll_id, error=_explain_upload(exc), status=400)
    flash(_("Your %(round)s file (trustee %(num)d) is in.", round=kind, num=index))
    if done:
        flash(_("Every trustee has confirmed: the election key is ready."))
    return redirect(url_for("admin.trustee_poll", poll_id=poll_id))


@bp.post("/trustee/<poll_id>/partial")
@auth.signin_required
def trustee_partial(poll_id: str) -> Response | tuple[str, int]:
    """Upload this trustee's partial decryption of the closed board."""
    _poll_for_trustee(poll_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        data = _uploaded_json()
        with work() as db:
            index, tallied = counting.upload_partial(db, poll_id, data, actor=actor(), as_trustee=actor())
    except PollError as exc:
        return _page(poll_id, error=_explain_upload(exc), status=400)
    flash(_("Your partial decryption (trustee %(num)d) is checked and in.", num=index))
    if tallied:
        flash(_("Enough trustees have decrypted: the votes are counted. The election officer publishes the result."))
    return redirect(url_for("admin.trustee_poll", poll_id=poll_id))
