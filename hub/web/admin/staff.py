"""Staff accounts (admin only): the list, and a form that adds an account and shows its TOTP secret once."""

from __future__ import annotations

import base64
import io

import qrcode
import qrcode.image.svg
from flask import render_template
from flask_babel import gettext as _

from hub.staff import accounts
from hub.staff.passwords import MIN_PASSWORD_LENGTH
from hub.staff.roles import Role, parse_roles
from hub.web import auth
from hub.web.admin import bp
from hub.web.context import hub_context, work
from hub.web.forms import StaffForm


def _qr_data_uri(text: str) -> str:
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _explain(exc: accounts.StaffError) -> str:
    messages: dict[str, str] = {
        "username_taken": _("That username is already taken."),
        "username": _("A username is 2-64 lower-case letters, digits, dots, dashes or underscores."),
        "display_name": _("Give a name of at most 200 characters."),
        "roles": _("Choose at least one role."),
        "password": _("The password must be at least %(num)d characters long.", num=MIN_PASSWORD_LENGTH),
    }
    fallback: str = _("The account could not be created.")
    return messages.get(exc.code, fallback)


def _list(form: StaffForm, error: str | None = None) -> str:
    with work(write=False) as db:
        members = accounts.list_staff(db)
    return render_template("admin/staff.html", members=members, form=form, error=error)


@bp.get("/staff")
@auth.role_required(Role.ADMIN)
def staff() -> str:
    """Every account, and the form for a new one."""
    return _list(StaffForm())


@bp.post("/staff")
@auth.role_required(Role.ADMIN)
def staff_add() -> str | tuple[str, int]:
    """Add an account; the page that follows shows its TOTP secret and QR code, once."""
    form = StaffForm()
    if not form.validate_on_submit():
        return _list(form), 400
    ctx = hub_context()
    member = auth.current_member()
    assert member is not None
    try:
        with work() as db:
            created = accounts.add_staff(
                db,
                username=form.username.data or "",
                display_name=form.display_name.data or "",
                password=form.password.data or "",
                roles=parse_roles(form.roles.data or []),
                totp_key=ctx.totp_key,
                actor=member.username,
            )
    except accounts.StaffError as exc:
        return _list(form, _explain(exc)), 400
    return render_template("admin/staff_created.html", created=created, qr=_qr_data_uri(created.provisioning_uri))
