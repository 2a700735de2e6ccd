"""`create_app`: the kiosk's touch UI as a Flask application, served on 127.0.0.1 only (see `kiosk.cli`)."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask, session
from flask_babel import Babel
from flask_wtf.csrf import CSRFProtect

from kiosk.settings import KioskSettings, load_kiosk_settings
from kiosk.store import make_engine, make_session_factory
from kiosk.visit import TEXT_SIZES
from kiosk.web import (
    EXTENSION_KEY,
    KioskRuntime,
    capacity,
    errors,
    health,
    preferences,
    records,
    security,
    start,
    visit,
)
from protocol.settings import ensure_secret, read_secret

MAX_REQUEST_BYTES = 64 * 1024  # the kiosk's forms are a few buttons; nothing bigger has a reason to arrive


def _secret_key(settings: KioskSettings) -> bytes:
    if settings.demo_mode:
        return ensure_secret(settings.secret_key_path, what="kiosk session key")
    return read_secret(settings.secret_key_path, what="kiosk session key")


def _template_context(settings: KioskSettings) -> dict[str, object]:
    return {
        "settings": settings,
        "language": preferences.current_language(),
        "languages": [(code, preferences.language_name(code)) for code in settings.languages],
        "text_size": preferences.current_text_size(),
        "text_sizes": TEXT_SIZES,
        "visit_in_use": bool(session.get(visit.IN_USE_KEY)),
        "now": datetime.now(UTC),
    }


def create_app(settings: KioskSettings | None = None) -> Flask:
    """Build the kiosk UI for ``settings`` (default: `load_kiosk_settings()`).

    Does not touch the database file: `kiosk.store.upgrade` prepares it (``tinget kiosk db upgrade``, and
    ``serve`` on start).
    """
    settings = settings or load_kiosk_settings()
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=_secret_key(settings),
        SESSION_COOKIE_NAME="kiosk_visit",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES,
        # A form token lives as long as its visit: the idle reset ends both. A fixed lifetime would only break
        # the first tap on a start screen that has waited longer than it.
        WTF_CSRF_TIME_LIMIT=None,
        BABEL_DEFAULT_LOCALE=settings.default_language,
        BABEL_DEFAULT_TIMEZONE=settings.timezone,
    )
    engine = make_engine(settings.database)
    app.extensions[EXTENSION_KEY] = KioskRuntime(settings, engine, make_session_factory(engine))

    # The visit's idle check must run before the CSRF check: a stale page must not be able to act.
    app.register_blueprint(visit.bp)
    CSRFProtect(app)
    Babel(app, locale_selector=preferences.current_language, timezone_selector=lambda: settings.timezone)
    app.register_blueprint(start.bp)
    app.register_blueprint(preferences.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(capacity.bp)  # the "outbox full" banner and page
    app.register_blueprint(records.bp)  # public documents, the notice board, document requests
    errors.register_error_pages(app)
    security.register_security_headers(app)
    app.context_processor(lambda: _template_context(settings))
    return app
