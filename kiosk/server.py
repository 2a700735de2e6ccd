"""The kiosk UI under gunicorn, bound to 127.0.0.1 and nothing else.

The kiosk's browser runs on the same machine; nothing on the office network has any business with the UI, so
the bind address is not a setting: there is no way to configure another one.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from kiosk.settings import KioskSettings

LOCAL_HOST = "127.0.0.1"
# The browser opens a few requests at once (page, CSS, JS, keepalive) and holds one server-sent event stream
# per open page (a closed page's stream ends within seconds); one worker keeps one engine and owns the reader.
THREADS = 12


def bind_address(port: int) -> str:
    """The only address the kiosk UI listens on."""
    return f"{LOCAL_HOST}:{port}"


class KioskServer(BaseApplication):  # type: ignore[misc]  # gunicorn ships no type hints
    """gunicorn, one gthread worker; the app is built inside the worker (no SQLite handle crosses a fork)."""

    def __init__(self, settings: KioskSettings, port: int | None = None) -> None:
        self.settings = settings
        self.options: dict[str, Any] = {
            "bind": [bind_address(port or settings.web_port)],
            "workers": 1,
            "worker_class": "gthread",
            "threads": THREADS,
            "accesslog": None,  # request lines add nothing on a kiosk; errors still go to the error log
            "errorlog": "-",
            "loglevel": settings.log_level,
            "proc_name": f"tinget-kiosk-{settings.device_id}",
            "preload_app": False,
        }
        super().__init__()

    def load_config(self) -> None:
        """Apply our options and nothing else (no command line, no gunicorn.conf.py, no GUNICORN_CMD_ARGS)."""
        for key, value in self.options.items():
            self.cfg.set(key, value)
        if "control_socket_disable" in self.cfg.settings:
            # gunicorn 25+ opens a control socket in ~/.gunicorn by default: a second way in that the kiosk
            # does not need, and one path that the demo's several gunicorns would fight over.
            self.cfg.set("control_socket_disable", True)
        if any(not address.startswith(LOCAL_HOST + ":") for address in self.cfg.bind):
            raise RuntimeError(f"the kiosk UI binds {LOCAL_HOST} only, not {self.cfg.bind}")

    def load(self) -> Flask:
        """Build the app in the worker process."""
        from kiosk.app import create_app
        from kiosk.web import runtime

        app = create_app(self.settings)
        with app.app_context():
            runtime().card_service.start()  # in the worker: the one process that owns the card reader
        return app
