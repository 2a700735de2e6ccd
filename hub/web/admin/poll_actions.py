"""The election officer's actions on a poll: the roll, the trustees, the key ceremony, opening, closing, publishing.

Every action is a POST with its CSRF token (SEC-18) and one unit of work. Opening and closing store new versions
of the ``polls`` and ``roll`` sets in the same transaction; the ingest announces them to the kiosks (D44: no
MQTT client inside gunicorn).
"""

from __future__ import annotations

from cryptography import x509
from flask import Flask, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from hub.polls import ceremony, counting, drafts, lifecycle
from hub.polls.drafts import PollError
from hub.polls.keys import roll_key
from hub.polls.roll import MAX_ROLL_BYTES, import_roll
from hub.web import auth
from hub.web.admin import bp
from hub.web.admin.polls import OFFICER, actor, poll_page, valid_id
from hub.web.context import hub_context, work
from hub.web.forms import ConfirmForm
from hub.web.poll_forms import RollForm, TrusteesForm
from hub.web.poll_text import explain

ROLL_ENDPOINT = "admin.poll_roll"
MAX_ROLL_REQUEST = MAX_ROLL_BYTES + 64 * 1024  # the file and the form around it


def _upload_limit() -> None:
    # The hub's 1 MB limit is for forms; a municipality's roll is about 14 MB. Refused from Content-Length
    # before anything reads the body (the CSRF check included). Trustees' files are a few kB: 1 MB is plenty.
    if request.method == "POST" and request.endpoint == ROLL_ENDPOINT:
        request.max_content_length = MAX_ROLL_REQUEST
        if (request.content_length or 0) > MAX_ROLL_REQUEST:
            abort(413)


def install_upload_limit(app: Flask) -> None:
    """Run the roll's upload limit before every other check of a request (call before ``CSRFProtect(app)``)."""
    app.before_request(_upload_limit)


def store_poll_sets(db: Session) -> None:
    """New versions of the ``polls`` and ``roll`` sets if they changed (the ingest announces them)."""
    from hub.polls.sets import polls_content, roll_content
    from hub.sets.content import encode_set
    from hub.sets.publication import publish

    settings = hub_context().settings
    bodies = {"polls": encode_set("polls", polls_content(settings, db)), "roll": encode_set("roll", roll_content(db))}
    publish(db, bodies, actor=actor())


@bp.post("/polls/<poll_id>/roll")
@auth.role_required(*OFFICER)
def poll_roll(poll_id: str) -> tuple[str, int]:
    """Import the voter roll and show the report (accepted, rejected lines by number, never their content)."""
    form = RollForm()
    if not form.validate_on_submit():
        return poll_page(poll_id, error=_("The form has expired. Reload the page and try again."), status=400)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return poll_page(poll_id, error=_("Choose the roll file to upload."), status=400, roll_form=form)
    with upload.stream:  # a large upload is spooled to a temporary file: closed as soon as it is read
        data = upload.stream.read(MAX_ROLL_BYTES + 1)
    try:
        with work() as db:
            report = import_roll(
                db,
                valid_id(poll_id),
                data,
                roll_key=roll_key(hub_context().settings, poll_id),
                actor=actor(),
                replace=bool(form.replace.data),
            )
    except PollError as exc:
        return poll_page(poll_id, error=explain(exc), status=400, roll_form=form)
    return poll_page(poll_id, report=report)


@bp.post("/polls/<poll_id>/trustees")
@auth.role_required(*OFFICER)
def poll_trustees(poll_id: str) -> Response | tuple[str, int]:
    """Name the k-of-n trustees."""
    form = TrusteesForm()
    if not form.validate_on_submit():
        return poll_page(poll_id, status=400, trustees_form=form)
    try:
        with work() as db:
            ceremony.set_trustees(db, valid_id(poll_id), form.threshold.data, form.names(), actor=actor())
    except PollError as exc:
        return poll_page(poll_id, error=explain(exc), status=400, trustees_form=form)
    flash(_("The trustees are named. Each can now start the key ceremony under Trustee on their own page."))
    return redirect(url_for("admin.poll", poll_id=poll_id))


@bp.post("/polls/<poll_id>/<any(reset, open, close, publish):action>")
@auth.role_required(*OFFICER)
def poll_action(poll_id: str, action: str) -> Response | tuple[str, int]:
    """Reset the key ceremony, open, close or publish (each refused with its reason when it cannot be done)."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    valid_id(poll_id)
    try:
        with work() as db:
            if action == "reset":
                ceremony.reset_ceremony(db, poll_id, actor=actor())
            elif action == "open":
                lifecycle.open_poll(db, poll_id, actor=actor())
                store_poll_sets(db)
            elif action == "close":
                if not lifecycle.close_poll(db, poll_id, actor=actor()).secret:
                    action = "close_named"
                store_poll_sets(db)
            else:
                counting.publish(db, poll_id, actor=actor(), staff_cas=staff_cas_for(db, poll_id))
    except PollError as exc:
        if drafts_missing(poll_id):
            abort(404)
        return poll_page(poll_id, error=explain(exc), status=400)
    messages = {
        "reset": _("The key ceremony is reset: every trustee starts again from round 1."),
        "open": _("The poll is open. The kiosks receive it shortly."),
        "close": _("The poll is closed. The trustees can now download the closed board and decrypt the result."),
        "close_named": _("The poll is closed. The choices are now on the public board; publish to count them."),
        "publish": _("The result and the election record are published."),
    }
    flash(messages[action])
    return redirect(url_for("admin.poll", poll_id=poll_id))


def staff_cas_for(db: Session, poll_id: str) -> list[x509.Certificate] | None:
    """The staff card authorities a named poll's record lists (D77); None for a secret poll, which needs none."""
    if drafts.get_poll(db, poll_id).secret:
        return None
    try:
        return counting.staff_card_authorities(hub_context().settings)
    except (OSError, ValueError) as exc:
        raise PollError(f"eid_staff_ca_file cannot be read: {exc}") from None


def drafts_missing(poll_id: str) -> bool:
    """Whether there is no such poll (a refusal then is a 404, not a message)."""
    with work(write=False) as db:
        return drafts.find_poll(db, poll_id) is None
