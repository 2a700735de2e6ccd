"""The audit log (granskningslogg) page: newest entries first, page by page, and a check of the chain."""

from __future__ import annotations

import math

from flask import render_template, request
from flask_babel import gettext as _

from hub.audit import log as audit
from hub.audit.chain import ChainReport
from hub.staff.roles import Role
from hub.web import auth
from hub.web.admin import bp
from hub.web.context import work
from hub.web.forms import ConfirmForm

PER_PAGE = 50


def problem_text(report: ChainReport) -> str:
    """What is wrong with the first broken entry, in the reader's language."""
    texts: dict[str, str] = {
        "missing": _("the entry is missing"),
        "link": _("it does not link to the entry before it"),
        "contents": _("its contents have been changed after it was written"),
        "unreadable": _("it cannot be read"),
    }
    fallback: str = _("it does not hold")
    return texts.get(report.problem or "", fallback)


def _page(report: ChainReport | None) -> str:
    page = request.args.get("page", default=1, type=int) or 1
    with work(write=False) as db:
        total = audit.count_entries(db)
        pages = max(1, math.ceil(total / PER_PAGE))
        page = min(max(page, 1), pages)
        entries = audit.latest_entries(db, page=page, per_page=PER_PAGE)
    return render_template(
        "admin/audit.html",
        entries=entries,
        page=page,
        pages=pages,
        total=total,
        report=report,
        problem=problem_text(report) if report and not report.ok else None,
        form=ConfirmForm(),
    )


@bp.get("/audit")
@auth.role_required(Role.ADMIN, Role.IT)
def audit_log() -> str:
    """One page of the log."""
    return _page(None)


@bp.post("/audit/verify")
@auth.role_required(Role.ADMIN, Role.IT)
def audit_verify() -> str:
    """Recompute the chain and show the result above the first page."""
    with work(write=False) as db:
        report = audit.verify_chain(db)
    return _page(report)
