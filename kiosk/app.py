"""`create_app`: the kiosk's touch UI as a Flask application, served on 127.0.0.1 only (see `kiosk.cli`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from flask import Flask, session
from flask_babel import Babel
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import Engine

from kiosk.card.reader import ReaderPort
from kiosk.eid.service import CardService
from kiosk.eid.store import EidStore
from kiosk.settings import KioskSettings, load_kiosk_settings
from kiosk.store import make_engine, make_session_factory
from kiosk.visit import TEXT_SIZES
from kiosk.web import (
    EXTENSION_KEY,
    KioskRuntime,
    capacity,
    errors,
    health,
    named_voting,
    preferences,
    records,
    security,
    signin,
    start,
    visit,
    voting,
)
from kiosk.web.demo_cards import register_demo_cards
from protocol.eid_validation import ValidationPolicy
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


def _pcsc_reader(settings: KioskSettings) -> Callable[[], ReaderPort]:
    def make() -> ReaderPort:
        from kiosk.card.pcsc import PcscReader  # pyscard loads libpcsclite: only when the service starts

        return PcscReader(settings.card_reader)

    return make


def card_service_for(
    settings: KioskSettings, engine: Engine, reader: Callable[[], ReaderPort] | None = None
) -> CardService:
    """The card service for this kiosk, on ``reader`` (default: the PC/SC reader the settings name), not started."""
    store = EidStore(engine, device_ca_file=settings.mqtt_ca_file, outbox_capacity=settings.outbox_capacity)
    return CardService(
        reader or _pcsc_reader(settings),
        device_id=settings.device_id,
        trust=store.trust,
        clock_floor=store.clock_floor,
        record=store.record,
        policy=ValidationPolicy(crl_grace=timedelta(hours=settings.eid_crl_grace_hours)),
    )


def create_app(settings: KioskSettings | None = None, card_service: CardService | None = None) -> Flask:
    """Build the kiosk UI for ``settings`` (default: `load_kiosk_settings()`).

    Does not touch the database file: `kiosk.store.upgrade` prepares it (``tinget kiosk db upgrade``, and
    ``serve`` on start). The card service (default: on the PC/SC reader) is not started here: the server
    starts it in the worker (`kiosk.server`), tests start theirs.
    """
    settings = settings or load_kiosk_settings()
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=_secret_key(settings),
        SESSION_COOKIE_NAME="kiosk_visit",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES,
        # Only the kiosk's own browser, on this machine, by these names: a page elsewhere that rebinds a DNS name
        # to 127.0.0.1 is refused before it can reach the PIN form.
        TRUSTED_HOSTS=["127.0.0.1", "localhost"],
        # A form token lives as long as its visit: the idle reset ends both. A fixed lifetime would only break
        # the first tap on a start screen that has waited longer than it.
        WTF_CSRF_TIME_LIMIT=None,
        BABEL_DEFAULT_LOCALE=settings.default_language,
        BABEL_DEFAULT_TIMEZONE=settings.timezone,
    )
    engine = make_engine(settings.database)
    card_service = card_service or card_service_for(settings, engine)
    app.extensions[EXTENSION_KEY] = KioskRuntime(settings, engine, make_session_factory(engine), card_service)

    # The visit's idle check must run before the CSRF check: a stale page must not be able to act.
    app.register_blueprint(visit.bp)
    CSRFProtect(app)
    Babel(app, locale_selector=preferences.current_language, timezone_selector=lambda: settings.timezone)
    app.register_blueprint(start.bp)
    app.register_blueprint(preferences.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(capacity.bp)  # the "outbox full" banner and page
    app.register_blueprint(signin.bp)
    app.register_blueprint(voting.bp)  # polls, casting a ballot, the receipt
    app.register_blueprint(named_voting.bp)  # staff votes (named polls), public by name
    register_demo_cards(app, settings)
    app.add_template_filter(signin.role_name, "role_name")
    app.register_blueprint(records.bp)  # public documents, the notice board, document requests
    errors.register_error_pages(app)
    security.register_security_headers(app)
    app.context_processor(lambda: _template_context(settings))
    return app
