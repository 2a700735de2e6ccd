"""The resident's choices for this visit: language and text size, kept in the session until the visit ends."""

from __future__ import annotations

from babel import Locale, UnknownLocaleError
from flask import Blueprint, abort, redirect, request, session
from werkzeug.wrappers import Response

from kiosk.visit import DEFAULT_TEXT_SIZE, TEXT_SIZES, safe_next_path
from kiosk.web import runtime

bp = Blueprint("preferences", __name__)

LANGUAGE_KEY = "lang"
TEXT_SIZE_KEY = "text_size"


class UnknownLanguage(Exception):
    """A language was asked for that this kiosk has no catalog for; shown as a polite page, not a crash."""


def current_language() -> str:
    """The visit's language if it chose one this kiosk offers, else the kiosk's default (Swedish)."""
    settings = runtime().settings
    chosen = session.get(LANGUAGE_KEY)
    return chosen if chosen in settings.languages else settings.default_language


def current_text_size() -> str:
    """The visit's text size step (see `kiosk.visit.TEXT_SIZES`)."""
    chosen = session.get(TEXT_SIZE_KEY)
    return chosen if chosen in TEXT_SIZES else DEFAULT_TEXT_SIZE


def language_name(code: str) -> str:
    """A language's own name for itself ("Svenska", "English"), so anyone can find theirs; from CLDR data."""
    try:
        name = Locale.parse(code).get_display_name(code) or code
    except (UnknownLocaleError, ValueError):
        name = code
    return name[:1].upper() + name[1:]


@bp.post("/lang/<code>")
def set_language(code: str) -> Response:
    """Switch the visit's language and go back to the page the resident was on."""
    if code not in runtime().settings.languages:
        raise UnknownLanguage(code)
    session[LANGUAGE_KEY] = code
    return redirect(safe_next_path(request.form.get("next")), 303)


@bp.post("/text-size/<size>")
def set_text_size(size: str) -> Response:
    """Switch the visit's text size and go back to the page the resident was on."""
    if size not in TEXT_SIZES:
        abort(404)
    session[TEXT_SIZE_KEY] = size
    return redirect(safe_next_path(request.form.get("next")), 303)
