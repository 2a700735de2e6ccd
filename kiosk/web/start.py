"""The touch start screen and the services it leads to (each "Kommer snart" until its issue builds it)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, abort, redirect, render_template, url_for
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

bp = Blueprint("start", __name__)


@dataclass(frozen=True)
class Tile:
    """One big button on the start screen."""

    slug: str
    title: LazyString
    hint: LazyString
    icon: str  # the name of an inline SVG symbol in templates/icons.html
    for_staff: bool = False  # staff tiles sit apart from the residents' ones


TILES: tuple[Tile, ...] = (
    Tile("vote", _l("Vote"), _l("Polls and consultations"), "vote"),
    Tile("documents", _l("Search public documents"), _l("Decisions, minutes and agendas"), "search"),
    Tile("notice-board", _l("Notice board"), _l("The municipality's official notices"), "board"),
    Tile("request", _l("Ask for a document"), _l("Ask to see a document that is not published"), "document"),
    Tile("staff", _l("Staff: check in"), _l("With your employee card"), "staff", for_staff=True),
)
_BY_SLUG = {tile.slug: tile for tile in TILES}
BUILT: dict[str, str] = {  # tiles whose service exists, by the endpoint they open
    "vote": "voting.index",
    "documents": "records.search",
    "notice-board": "records.notice_board",
    "request": "records.ask",
}


@bp.get("/")
def index() -> str:
    """The start screen: the office, the card prompt and the service tiles."""
    return render_template(
        "start.html",
        resident_tiles=[t for t in TILES if not t.for_staff],
        staff_tiles=[t for t in TILES if t.for_staff],
    )


@bp.get("/service/<slug>")
def service(slug: str) -> str | Response:
    """The tile's service, or (for one a later issue builds) a friendly "coming soon" with a way back."""
    tile = _BY_SLUG.get(slug)
    if tile is None:
        abort(404)
    if slug in BUILT:
        return redirect(url_for(BUILT[slug]))
    return render_template("coming_soon.html", tile=tile)
