"""Running hub processes under gunicorn from our own commands (no gunicorn command line, no config file)."""

from __future__ import annotations

from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from hub.settings import HubSettings


class GunicornServer(BaseApplication):  # type: ignore[misc]
    """gunicorn with gthread workers; each worker builds its own app (and database engine) after the fork.

    Subclasses say where to listen and how (`options`) and which app to build (`make_app`).
    """

    def __init__(self, settings: HubSettings) -> None:
        self.settings = settings
        super().__init__()

    def options(self) -> dict[str, Any]:
        """gunicorn settings particular to this server (bind, workers, TLS, process name)."""
        raise NotImplementedError

    def make_app(self) -> Flask:
        """The WSGI app, built in the worker."""
        raise NotImplementedError

    def load_config(self) -> None:
        """Settings gunicorn would otherwise read from its command line."""
        options: dict[str, Any] = {
            "worker_class": "gthread",
            "accesslog": None,  # request lines can carry query strings; the apps log what matters themselves
            "errorlog": "-",
            "loglevel": self.settings.log_level,
            "timeout": 30,
            "graceful_timeout": 10,
            **self.options(),
        }
        for key, value in options.items():
            self.cfg.set(key, value)
        if "control_socket_disable" in self.cfg.settings:
            # gunicorn 25+ opens a control socket in ~/.gunicorn by default: a second way in that the hub does not
            # need, and one path that several gunicorn processes on one machine (the demo) would fight over.
            self.cfg.set("control_socket_disable", True)

    def load(self) -> Flask:
        """Build the app in the worker (the engine must not cross a fork)."""
        return self.make_app()


class HubServer(GunicornServer):
    """The hub web: public pages, staff pages, the open-data API."""

    def options(self) -> dict[str, Any]:
        return {
            "bind": f"{self.settings.web_host}:{self.settings.web_port}",
            "workers": self.settings.web_workers,
            "threads": self.settings.web_threads,
            "proc_name": "tinget-hub-web",
        }

    def make_app(self) -> Flask:
        from hub.app import create_app

        return create_app(self.settings)


def serve(settings: HubSettings) -> None:
    """Run the hub web in the foreground until it is told to stop."""
    HubServer(settings).run()
