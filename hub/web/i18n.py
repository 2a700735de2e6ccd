"""Languages: Swedish by default, English beside it; ``?lang=en`` switches, and the session remembers it."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, request, session
from flask_babel import Babel, get_locale

LANGUAGES = ("sv", "en")
DEFAULT_LANGUAGE = "sv"
TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"


def _select_locale() -> str:
    wanted = request.args.get("lang") or session.get("lang")
    return wanted if wanted in LANGUAGES else DEFAULT_LANGUAGE


def _remember_choice() -> None:
    wanted = request.args.get("lang")
    if wanted in LANGUAGES and session.get("lang") != wanted:
        session["lang"] = wanted


def _template_names() -> dict[str, object]:
    current = str(get_locale() or DEFAULT_LANGUAGE)
    return {"current_lang": current, "other_lang": "en" if current == "sv" else "sv"}


def install(app: Flask) -> None:
    """Configure Flask-Babel on ``app`` and the language switch."""
    app.config["BABEL_DEFAULT_LOCALE"] = DEFAULT_LANGUAGE
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS)
    Babel(app, locale_selector=_select_locale)
    app.before_request(_remember_choice)
    app.context_processor(_template_names)
