"""The registrar's queue of requests, the notice board and retention (role ``registrar``)."""

from __future__ import annotations

import datetime as dt

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from hub.db import utcnow
from hub.registry import notices, requests, retention
from hub.registry.rules import RegistryError
from hub.staff.roles import Role
from hub.web import auth
from hub.web.admin import bp
from hub.web.admin.registry import actor, store
from hub.web.context import hub_context, work
from hub.web.forms import ConfirmForm
from hub.web.registry_forms import NoticeForm, RequestHandlingForm, WeedForm
from hub.web.registry_text import explain


@bp.get("/registry/requests")
@auth.role_required(Role.REGISTRAR)
def registry_requests() -> str:
    """Open requests, most urgent first, and the recently answered ones."""
    with work(write=False) as db:
        waiting = requests.open_requests(db)
        done = requests.recent_requests(db)
    return render_template(
        "admin/registry_requests.html", waiting=waiting, done=done, now=utcnow(), form=RequestHandlingForm()
    )


@bp.post("/registry/requests/<int:request_id>")
@auth.role_required(Role.REGISTRAR)
def registry_handle_request(request_id: int) -> Response:
    """Record a step in a request's handling (audited)."""
    form = RequestHandlingForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        with work() as db:
            handled = requests.handle_request(db, request_id, form.status.data, form.note.data or "", actor=actor())
    except RegistryError:
        abort(404)
    flash(_("Request %(reference)s is updated.", reference=handled.reference))
    return redirect(url_for("admin.registry_requests"))


def _notices_page(form: NoticeForm, error: str | None = None, status: int = 200) -> tuple[str, int]:
    with work(write=False) as db:
        listed = notices.all_notices(db)
    page = render_template(
        "admin/registry_notices.html",
        notices=listed,
        form=form,
        error=error,
        today=dt.date.today(),
        confirm=ConfirmForm(),
    )
    return page, status


@bp.get("/registry/notices")
@auth.role_required(Role.REGISTRAR)
def registry_notices() -> tuple[str, int]:
    """The notice board as staff see it, and the form for a new notice."""
    today = dt.date.today()
    return _notices_page(NoticeForm(posted_on=today, takedown_on=today + dt.timedelta(days=21)))


@bp.post("/registry/notices")
@auth.role_required(Role.REGISTRAR)
def registry_post_notice() -> Response | tuple[str, int]:
    """Put a notice on the board."""
    form = NoticeForm()
    if not form.validate_on_submit():
        return _notices_page(form, status=400)
    try:
        with work() as db:
            notices.post_notice(
                db,
                title=form.title.data,
                body=form.body.data,
                board=form.board.data or None,
                document_id=form.document_id.data,
                posted_on=form.posted_on.data,
                takedown_on=form.takedown_on.data,
                actor=actor(),
                public_url=hub_context().settings.public_url,
            )
    except RegistryError as exc:
        return _notices_page(form, explain(exc), 400)
    flash(_("The notice is on the board."))
    return redirect(url_for("admin.registry_notices"))


@bp.post("/registry/notices/<int:notice_id>/take-down")
@auth.role_required(Role.REGISTRAR)
def registry_take_down(notice_id: int) -> Response:
    """Take a notice down now."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        with work() as db:
            notices.take_down(
                db, notice_id, actor=actor(), public_url=hub_context().settings.public_url, today=dt.date.today()
            )
    except RegistryError:
        abort(404)
    flash(_("The notice is taken down."))
    return redirect(url_for("admin.registry_notices"))


def _retention_page(form: WeedForm, error: str | None = None, status: int = 200) -> tuple[str, int]:
    with work(write=False) as db:
        due = retention.due_documents(db, dt.date.today())
        weeded = retention.weedings(db)
    return render_template("admin/registry_retention.html", due=due, weeded=weeded, form=form, error=error), status


@bp.get("/registry/retention")
@auth.role_required(Role.REGISTRAR)
def registry_retention() -> tuple[str, int]:
    """What is due for weeding, and what has been weeded."""
    return _retention_page(WeedForm())


@bp.post("/registry/retention")
@auth.role_required(Role.REGISTRAR)
def registry_weed() -> Response | tuple[str, int]:
    """Weed the checked documents, on the registrar's confirmation, with the reason."""
    form = WeedForm()
    ids = [int(x) for x in request.form.getlist("document") if x.isdigit()]
    if not form.validate_on_submit() or not ids:
        return _retention_page(form, _("Check the documents to weed and say why."), 400)
    try:
        with work() as db:
            orphans = retention.weed(
                db,
                ids,
                reason=form.reason.data,
                actor=actor(),
                public_url=hub_context().settings.public_url,
                today=dt.date.today(),
            )
    except RegistryError as exc:
        return _retention_page(form, explain(exc), 400)
    files = store()
    for sha256 in orphans:
        files.remove(sha256)
    flash(_("%(num)d documents are weeded; the record says what and why.", num=len(ids)))
    return redirect(url_for("admin.registry_retention"))
