"""Sign-in (password, then a one-time code) and sign-out. Every attempt is audited and throttled (SEC-18)."""

from __future__ import annotations

import logging
import math

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from werkzeug.wrappers import Response

from hub.staff import accounts
from hub.staff.totp import SealError
from hub.web import auth
from hub.web.admin import bp
from hub.web.context import hub_context, work
from hub.web.forms import CodeForm, ConfirmForm, SigninForm

log = logging.getLogger(__name__)


def _locked_message(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    message: str = ngettext(
        "Too many failed attempts. Sign-in is locked for %(num)d minute.",
        "Too many failed attempts. Sign-in is locked for %(num)d minutes.",
        minutes,
    )
    return message


@bp.route("/signin", methods=["GET", "POST"])
def signin() -> str | Response | tuple[str, int]:
    """Step one: username and password."""
    if auth.current_member() is not None:
        return redirect(url_for("admin.overview"))
    form = SigninForm()
    if form.validate_on_submit():
        ctx = hub_context()
        with work() as db:
            outcome = accounts.check_password(
                db,
                username=form.username.data or "",
                password=form.password.data or "",
                address=auth.client_address(),
                policy=ctx.policy,
            )
        if outcome.ok:
            assert outcome.member is not None
            auth.start_pending(outcome.member)
            return redirect(url_for("admin.signin_code"))
        form.password.data = ""
        if outcome.locked_seconds:
            return render_template("admin/signin.html", form=form, error=_locked_message(outcome.locked_seconds)), 429
        return render_template("admin/signin.html", form=form, error=_("Wrong username or password.")), 401
    return render_template("admin/signin.html", form=form, error=None)


@bp.route("/signin/code", methods=["GET", "POST"])
def signin_code() -> str | Response | tuple[str, int]:
    """Step two: the one-time code from the authenticator app."""
    staff_id = auth.pending_id()
    if staff_id is None:
        flash(_("Sign in with your username and password first."))
        return redirect(url_for("admin.signin"))
    form = CodeForm()
    if form.validate_on_submit():
        ctx = hub_context()
        try:
            with work() as db:
                outcome = accounts.check_code(
                    db,
                    user_id=staff_id,
                    code=form.code.data or "",
                    address=auth.client_address(),
                    policy=ctx.policy,
                    totp_key=ctx.totp_key,
                )
        except SealError:
            # The hub's secret key file was replaced or lost: no stored second factor opens any more.
            log.error("a TOTP secret does not open with this hub's secret key; see docs/operations.md")
            auth.sign_out()
            message = _(
                "Two-step verification cannot be checked: the hub's secret key has changed. "
                "Contact IT; your authenticator must be set up again."
            )
            return render_template("admin/code.html", form=form, error=message), 500
        if outcome.ok:
            assert outcome.member is not None
            auth.complete_signin(outcome.member)
            return redirect(url_for("admin.overview"))
        form.code.data = ""
        if outcome.locked_seconds:
            auth.sign_out()
            return render_template("admin/code.html", form=form, error=_locked_message(outcome.locked_seconds)), 429
        return render_template(
            "admin/code.html", form=form, error=_("The one-time code is wrong or already used.")
        ), 401
    return render_template("admin/code.html", form=form, error=None)


@bp.post("/signout")
def signout() -> Response:
    """Sign out (a POST with a CSRF token, so no other site can sign anyone out)."""
    form = ConfirmForm()
    member = auth.current_member()
    if form.validate_on_submit() and member is not None:
        with work() as db:
            accounts.record_signout(db, member, auth.client_address())
    auth.sign_out()
    flash(_("You are signed out."))
    return redirect(url_for("admin.signin"))
