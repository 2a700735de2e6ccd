"""The election officer's pages (role ``election_officer``): the polls, a draft's form, and a poll's page.

Views stay thin: each hands the form's values to `hub.polls` in one unit of work and maps a
`hub.polls.drafts.PollError` to a message on the same page (`hub.web.poll_text.explain`), never a 500. The
actions on a poll (roll, trustees, opening, closing, publishing) are in `hub.web.admin.poll_actions`. A named poll
(staff vote, D77) is chosen when created and keeps its kind; its page has no roll, trustees or age limit (D83).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from hub.db import utcnow
from hub.polls import ceremony, counting, drafts, roll
from hub.polls.drafts import PollError
from hub.polls.models import Poll
from hub.staff.accounts import list_staff
from hub.staff.roles import Role
from hub.web import auth
from hub.web.admin import bp
from hub.web.context import hub_context, work
from hub.web.forms import ConfirmForm
from hub.web.poll_forms import FileForm, PollForm, RollForm, TrusteesForm, local, options_text
from hub.web.poll_text import explain, template_helpers
from protocol.polls import POLL_ID

OFFICER = (Role.ELECTION_OFFICER,)
bp.context_processor(template_helpers)


def actor() -> str:
    """The signed-in member's username."""
    member = auth.current_member()
    assert member is not None
    return member.username


def valid_id(poll_id: str) -> str:
    """The poll id from the address, or 404 for one that can name no poll."""
    if POLL_ID.fullmatch(poll_id) is None:
        abort(404)
    return poll_id


def readiness(db: Session, poll: Poll, now: dt.datetime) -> list[tuple[bool, str]]:
    """What opening needs, each with whether it holds (the page's checklist); a named poll only its schedule."""
    if not poll.secret:
        return [(poll.closes_at > now, _("The closing time is ahead"))]
    voters = roll.roll_size(db, poll.id)
    return [
        (bool(drafts.trustees_of(poll)), _("Trustees are named")),
        (poll.election_key is not None, _("The key ceremony has completed")),
        (voters > 0, _("The voter roll has %(num)d voters", num=voters)),
        (poll.closes_at > now, _("The closing time is ahead")),
    ]


def result_rows(poll: Poll) -> list[dict[str, Any]] | None:
    """Per option: its labels and votes, once the poll is counted (SEC-06: None before)."""
    result = counting.result_of(poll)
    if result is None:
        return None
    return [
        {"name": o.name, "sv": o.sv, "en": o.en, "votes": votes}
        for o, votes in zip(drafts.options_of(poll), result.counts, strict=True)
    ]


def poll_page(poll_id: str, *, error: str | None = None, status: int = 200, **extra: Any) -> tuple[str, int]:
    """A poll's page for the officer: rules, roll, trustees and ceremony, the actions its state allows."""
    with work(write=False) as db:
        poll = drafts.find_poll(db, valid_id(poll_id))
        if poll is None:
            abort(404)
        page: dict[str, Any] = {
            "poll": poll,
            "options": drafts.options_of(poll),
            "voters": roll.roll_size(db, poll_id),
            "trustees": drafts.trustees_of(poll),
            "ceremony": ceremony.ceremony_status(db, poll_id),
            "ready": readiness(db, poll, utcnow()),
            "head": counting.head_of(poll),
            "results": result_rows(poll),
            "staff": [m.username for m in list_staff(db) if m.active],
            "roles": drafts.roles_of(poll),
            "staff_cas": hub_context().settings.eid_staff_ca_file is not None,
        }
        db.expunge(poll)
    trustees_form = extra.pop("trustees_form", None) or TrusteesForm(
        threshold=poll.threshold or 2, usernames=", ".join(page["trustees"])
    )
    html = render_template(
        "admin/poll.html",
        **page,
        local=local,
        error=error,
        roll_form=extra.pop("roll_form", None) or RollForm(),
        trustees_form=trustees_form,
        confirm=ConfirmForm(),
        file_form=FileForm(),
        **extra,
    )
    return html, status


@bp.get("/polls/")
@auth.role_required(*OFFICER)
def polls() -> str:
    """Every poll with its state and schedule."""
    with work(write=False) as db:
        listed = drafts.list_polls(db)
        for item in listed:
            db.expunge(item)
    return render_template("admin/polls.html", polls=listed, local=local)


def _form_page(form: PollForm, poll_id: str | None, error: str | None = None, status: int = 200) -> tuple[str, int]:
    return render_template("admin/poll_form.html", form=form, poll_id=poll_id, error=error), status


@bp.route("/polls/new", methods=["GET", "POST"])
@auth.role_required(*OFFICER)
def poll_new() -> Response | tuple[str, int]:
    """Create a draft poll."""
    if request.method == "GET":
        start = local(utcnow()).replace(hour=8, minute=0, second=0, microsecond=0) + dt.timedelta(days=7)
        closes = start + dt.timedelta(days=14)
        form = PollForm(opens_at=start.replace(tzinfo=None), closes_at=closes.replace(tzinfo=None))
        return _form_page(form, None)
    form = PollForm()
    if not form.validate_on_submit():
        return _form_page(form, None, status=400)
    try:
        with work() as db:
            created = drafts.create_poll(db, form.poll_id.data.strip(), form.spec(), actor=actor())
            poll_id = created.id
    except PollError as exc:
        return _form_page(form, None, explain(exc), 400)
    flash(_("The poll %(id)s is saved as a draft.", id=poll_id))
    return redirect(url_for("admin.poll", poll_id=poll_id))


@bp.route("/polls/<poll_id>/edit", methods=["GET", "POST"])
@auth.role_required(*OFFICER)
def poll_edit(poll_id: str) -> Response | tuple[str, int]:
    """Change a draft (refused once the poll has opened)."""
    with work(write=False) as db:
        poll = drafts.find_poll(db, valid_id(poll_id))
        if poll is None:
            abort(404)
        db.expunge(poll)
        options = drafts.options_of(poll)
    if request.method == "GET":
        form = PollForm(
            poll_id=poll.id,
            kind="secret" if poll.secret else "named",
            roles=drafts.roles_of(poll),
            title_sv=poll.title_sv,
            title_en=poll.title_en,
            description_sv=poll.description_sv,
            description_en=poll.description_en,
            method=poll.method,
            min_selections=poll.min_selections,
            max_selections=poll.max_selections,
            revote=poll.revote,
            min_age=poll.min_age,
            options=options_text(options) if poll.method != "yes-no-abstain" else "",
            opens_at=local(poll.opens_at).replace(tzinfo=None),
            closes_at=local(poll.closes_at).replace(tzinfo=None),
        )
        return _form_page(form, poll_id)
    form = PollForm()
    form.poll_id.data = poll_id  # the id names the poll in the address; it is not changed here
    form.kind.data = "secret" if poll.secret else "named"  # nor the kind: the service refuses a switch
    if not form.validate_on_submit():
        return _form_page(form, poll_id, status=400)
    try:
        with work() as db:
            drafts.edit_poll(db, poll_id, form.spec(), actor=actor())
    except PollError as exc:
        return _form_page(form, poll_id, explain(exc), 400)
    flash(_("The changes are saved."))
    return redirect(url_for("admin.poll", poll_id=poll_id))


@bp.get("/polls/<poll_id>")
@auth.role_required(*OFFICER)
def poll(poll_id: str) -> tuple[str, int]:
    """One poll and what can be done with it now."""
    return poll_page(poll_id)
