"""`create_app`: assembles the hub's web application. gunicorn loads ``hub.app:create_app()``.

Building the app reads the settings and the secret key file and prepares the database engine; it does not
connect to the database or the broker (a request that needs the database gets a 503 page while it does not
answer).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from flask import Flask
from flask_wtf import CSRFProtect

from hub.db import make_engine, make_session_factory
from hub.settings import HubSettings, derive_key, load_hub_settings, secret_key
from hub.staff.throttle import ThrottlePolicy
from hub.web import api, errors, health, i18n, opendata, polls_public, public, records, security
from hub.web.admin import bp as admin_bp
from hub.web.context import EXTENSION, HubContext

WEB = Path(__file__).resolve().parent / "web"
SESSION_HOURS = 8  # a working day; after that a member signs in again
MAX_REQUEST_BYTES = 1024 * 1024  # forms are small; file imports will have their own limits


def create_app(settings: HubSettings | None = None) -> Flask:
    """The hub's Flask application for ``settings`` (default: `load_hub_settings()`)."""
    settings = settings or load_hub_settings()
    master = secret_key(settings)
    app = Flask("hub.web", root_path=str(WEB), template_folder="templates", static_folder="static")
    app.config.update(
        SECRET_KEY=derive_key(master, "flask session").hex(),
        SESSION_COOKIE_NAME="tinget_hub_session",
        # Secure always: browsers treat http://localhost and 127.0.0.1 as secure, so the demo works as well.
        SESSION_COOKIE_SECURE=True,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=SESSION_HOURS),
        MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES,
        WTF_CSRF_TIME_LIMIT=SESSION_HOURS * 3600,
        TEMPLATES_AUTO_RELOAD=False,
    )
    engine = make_engine(settings.database_url)
    app.extensions[EXTENSION] = HubContext(
        settings=settings,
        engine=engine,
        sessions=make_session_factory(engine),
        totp_key=derive_key(master, "totp secrets"),
        policy=ThrottlePolicy(settings.signin_max_failures, settings.signin_lockout_seconds),
    )
    from hub.web.admin.poll_actions import install_upload_limit as install_poll_upload_limit
    from hub.web.admin.registry import install_upload_limit

    install_upload_limit(app)  # before the CSRF check, which would read the body
    install_poll_upload_limit(app)
    CSRFProtect(app)
    i18n.install(app)
    security.install(app)
    errors.install(app)
    for blueprint in (public.bp, admin_bp, api.bp, health.bp, records.bp, opendata.bp, polls_public.bp):
        app.register_blueprint(blueprint)
    if settings.proxy_trusted_hops:
        # Behind nginx every request would otherwise come from 127.0.0.1: one shared sign-in throttle for all
        # staff and useless addresses in the audit log. Only as many hops as IT configured are believed.
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = settings.proxy_trusted_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    return app
