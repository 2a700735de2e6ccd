"""The registrar's pages (role ``registrar``): cases, documents with their files, publication.

Views stay thin: each hands the form's values to `hub.registry.service` in one unit of work and maps a
`hub.registry.rules.RegistryError` to a message on the same page.
"""

from __future__ import annotations

import datetime as dt

from flask import Flask, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from hub.registry import service
from hub.registry.rules import RegistryError
from hub.registry.store import FileStore
from hub.staff.roles import Role
from hub.web import auth
from hub.web.admin import bp
from hub.web.context import hub_context, work
from hub.web.forms import ConfirmForm
from hub.web.registry_forms import CaseForm, DocumentForm
from hub.web.registry_text import explain

UPLOAD_ENDPOINTS = frozenset({"admin.registry_case", "admin.registry_document"})


def _upload_limit() -> None:
    # The hub's 1 MB request limit is for forms; a registered file may be as large as the setting allows. An
    # upload over it is refused (413) from its Content-Length, before anything reads the body, CSRF included.
    if request.endpoint in UPLOAD_ENDPOINTS and request.method == "POST":
        limit = hub_context().settings.registry_max_upload_bytes
        request.max_content_length = limit
        if (request.content_length or 0) > limit:
            abort(413)


def install_upload_limit(app: Flask) -> None:
    """Run the upload limit before every other check of a request (call before ``CSRFProtect(app)``)."""
    app.before_request(_upload_limit)


def actor() -> str:
    """The signed-in member's username (role_required has let them in)."""
    member = auth.current_member()
    assert member is not None
    return member.username


def store() -> FileStore:
    """The registry's file store."""
    return FileStore(hub_context().settings.files_dir)


@bp.get("/registry/")
@auth.role_required(Role.REGISTRAR)
def registry() -> str:
    """Cases, newest first, with a filter and the form for a new case."""
    text = request.args.get("q", "")[:100]
    with work(write=False) as db:
        cases = service.list_cases(db, text=text)
    return render_template("admin/registry.html", cases=cases, q=text, form=CaseForm(opened_on=dt.date.today()))


@bp.post("/registry/cases")
@auth.role_required(Role.REGISTRAR)
def registry_new_case() -> Response | tuple[str, int]:
    """Register a case with the next number of its board's series."""
    form = CaseForm()
    if not form.validate_on_submit():
        with work(write=False) as db:
            cases = service.list_cases(db)
        return render_template("admin/registry.html", cases=cases, q="", form=form), 400
    try:
        with work() as db:
            case = service.register_case(
                db, board=form.board.data, title=form.title.data, opened_on=form.opened_on.data, actor=actor()
            )
    except RegistryError as exc:
        with work(write=False) as db:
            cases = service.list_cases(db)
        return render_template("admin/registry.html", cases=cases, q="", form=form, error=explain(exc)), 400
    flash(_("Case %(number)s is registered.", number=case.number))
    return redirect(url_for("admin.registry_case", case_id=case.id))


def _case_page(case_id: int, form: DocumentForm | None = None, error: str | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    try:
        with work(write=False) as db:
            case = service.get_case(db, case_id)
            documents = service.case_documents(db, case_id)
    except RegistryError:
        abort(404)
    form = form or DocumentForm(document_date=dt.date.today())
    page = render_template(
        "admin/registry_case.html", case=case, documents=documents, form=form, error=error, confirm=ConfirmForm()
    )
    return page, status


def _fields(form: DocumentForm) -> service.DocumentFields:
    return service.DocumentFields(
        kind=form.kind.data,
        title=form.title.data,
        document_date=form.document_date.data,
        counterpart=form.counterpart.data,
        secrecy=form.secrecy.data,
        osl_paragraph=form.osl_paragraph.data,
        personal_data=bool(form.personal_data.data),
        retention_years=form.retention_years.data,
    )


@bp.route("/registry/cases/<int:case_id>", methods=["GET", "POST"])
@auth.role_required(Role.REGISTRAR)
def registry_case(case_id: int):  # type: ignore[no-untyped-def]
    """A case and its documents; POST registers a document with its file."""
    if request.method == "GET":
        return _case_page(case_id)
    form = DocumentForm()
    if not form.validate_on_submit():
        return _case_page(case_id, form, status=400)
    upload = request.files.get("file")
    try:
        with work() as db:
            case = service.get_case(db, case_id)
            if upload and upload.filename:
                limit = hub_context().settings.registry_max_upload_bytes
                with store().receive(upload.stream, upload.filename, limit) as extracted:
                    document = service.add_document(
                        db, case, _fields(form), actor=actor(), upload=extracted, file_name=upload.filename
                    )
            else:
                document = service.add_document(db, case, _fields(form), actor=actor())
    except RegistryError as exc:
        return _case_page(case_id, form, explain(exc), 400)
    flash(
        _(
            "Document %(number)s is registered. It is not public until you publish it.",
            number=f"{case.number}-{document.serial}",
        )
    )
    return redirect(url_for("admin.registry_case", case_id=case_id))


@bp.route("/registry/documents/<int:document_id>", methods=["GET", "POST"])
@auth.role_required(Role.REGISTRAR)
def registry_document(document_id: int):  # type: ignore[no-untyped-def]
    """Edit a document's registration (audited), or replace its file."""
    try:
        with work(write=False) as db:
            document, case = service.get_document(db, document_id)
    except RegistryError:
        abort(404)
    form = DocumentForm(obj=document) if request.method == "GET" else DocumentForm()
    error = None
    if request.method == "POST" and form.validate_on_submit():
        upload = request.files.get("file")
        public_url = hub_context().settings.public_url
        try:
            with work() as db:
                if upload and upload.filename:
                    limit = hub_context().settings.registry_max_upload_bytes
                    with store().receive(upload.stream, upload.filename, limit) as extracted:
                        service.update_document(
                            db,
                            document_id,
                            _fields(form),
                            actor=actor(),
                            public_url=public_url,
                            upload=extracted,
                            file_name=upload.filename,
                        )
                else:
                    service.update_document(db, document_id, _fields(form), actor=actor(), public_url=public_url)
            flash(_("The changes are saved."))
            return redirect(url_for("admin.registry_case", case_id=case.id))
        except RegistryError as exc:
            error = explain(exc)
    status = 400 if request.method == "POST" else 200
    return render_template("admin/registry_document.html", document=document, case=case, form=form, error=error), status


@bp.post("/registry/documents/<int:document_id>/<any(publish, unpublish):action>")
@auth.role_required(Role.REGISTRAR)
def registry_publish(document_id: int, action: str) -> Response:
    """Publish a document everywhere, or take it back."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        with work() as db:
            document = service.set_published(
                db, document_id, action == "publish", actor=actor(), public_url=hub_context().settings.public_url
            )
            case_id = document.case_id
    except RegistryError:
        abort(404)
    flash(
        _("The document is published on the web, in the open-data API and on every kiosk.")
        if action == "publish"
        else _("The document is no longer public.")
    )
    return redirect(url_for("admin.registry_case", case_id=case_id))
