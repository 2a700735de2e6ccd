"""Running the hub web under gunicorn from our own command (no gunicorn command line, no config file)."""

from __future__ import annotations

from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from hub.settings import HubSettings


class HubServer(BaseApplication):  # type: ignore[misc]
    """gunicorn with gthread workers; each worker builds its own app (and database engine) after the fork."""

    def __init__(self, settings: HubSettings) -> None:
        self.settings = settings
        super().__init__()

    def load_config(self) -> None:
        """Settings gunicorn would otherwise read from its command line."""
        options: dict[str, Any] = {
            "bind": f"{self.settings.web_host}:{self.settings.web_port}",
            "workers": self.settings.web_workers,
            "worker_class": "gthread",
            "threads": self.settings.web_threads,
            "accesslog": None,  # request lines can carry query strings; the app logs what matters itself
            "errorlog": "-",
            "loglevel": self.settings.log_level,
            "timeout": 30,
            "graceful_timeout": 10,
            "proc_name": "tinget-hub-web",
        }
        for key, value in options.items():
            self.cfg.set(key, value)
        if "control_socket_disable" in self.cfg.settings:
            # gunicorn 25+ opens a control socket in ~/.gunicorn by default: a second way in that the hub does not
            # need, and one path that several gunicorn processes on one machine (the demo) would fight over.
            self.cfg.set("control_socket_disable", True)

    def load(self) -> Flask:
        """Build the app in the worker (the engine must not cross a fork)."""
        from hub.app import create_app

        return create_app(self.settings)


def serve(settings: HubSettings) -> None:
    """Run gunicorn in the foreground until it is told to stop."""
    HubServer(settings).run()
