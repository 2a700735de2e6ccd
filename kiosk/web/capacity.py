"""A full outbox in the UI: a banner on every page, and new actions refused with a page that says why.

Nothing a resident has confirmed is ever dropped: when the outbox is at ``outbox_capacity`` the kiosk stops
confirming new actions (`kiosk.outbox.OutboxFull`) until the hub has acknowledged some. A view that starts
an action is decorated with `needs_outbox_room`, so the resident is told before starting, not at the end.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from flask import Blueprint, g, render_template
from flask_babel import gettext as _
from sqlalchemy.exc import SQLAlchemyError

from kiosk import outbox
from kiosk.outbox import OutboxFull
from kiosk.web import runtime

log = logging.getLogger(__name__)
bp = Blueprint("capacity", __name__)

P = ParamSpec("P")
R = TypeVar("R")


def outbox_is_full() -> bool:
    """Whether the outbox is at capacity (read once per request); a database error counts as not full."""
    if "outbox_full" not in g:
        rt = runtime()
        try:
            with rt.sessions() as session:
                g.outbox_full = outbox.is_full(session, rt.settings.outbox_capacity)
        except SQLAlchemyError as exc:
            log.error("cannot read the outbox depth", extra={"error": type(exc).__name__})
            g.outbox_full = False
    return bool(g.outbox_full)


def needs_outbox_room(view: Callable[P, R]) -> Callable[P, R]:
    """Decorate a view that starts an action: while the outbox is full it shows the "cannot save" page."""

    @functools.wraps(view)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
        if outbox_is_full():
            settings = runtime().settings
            raise OutboxFull(settings.outbox_capacity, settings.outbox_capacity)
        return view(*args, **kwargs)

    return guarded


@bp.app_context_processor
def _banner() -> dict[str, object]:
    return {"outbox_full": outbox_is_full()}


@bp.app_errorhandler(OutboxFull)
def _refused(exc: OutboxFull) -> tuple[str, int]:
    log.error("action refused: the outbox is full", extra={"depth": exc.depth, "capacity": exc.capacity})
    g.outbox_full = True
    page = render_template(
        "error.html",
        status=503,
        title=_("The kiosk cannot save any more actions right now"),
        text=_("Nothing you have already done is lost. Please try again later, or ask the staff for help."),
    )
    return page, 503
