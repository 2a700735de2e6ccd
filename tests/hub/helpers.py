"""Helpers for the hub tests: accounts, CSRF tokens, sign-in as a browser does it."""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from hub.db import make_engine, make_session_factory, unit_of_work
from hub.staff import accounts, totp
from hub.staff.roles import Role
from hub.web.context import EXTENSION, HubContext

PASSWORD = "korrekt häst batteri häftklammer"


def closed_port() -> int:
    """A local TCP port where nothing listens (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_secret(path: Path) -> Path:
    """A hub secret key file with owner-only permissions."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_hex(32) + "\n")
    return path


def hub_of(app: Flask) -> HubContext:
    """The app's process-wide parts."""
    return app.extensions[EXTENSION]


def add_member(app: Flask, username: str, *roles: Role, password: str = PASSWORD) -> str:
    """Create an account the way the CLI does; return its TOTP secret."""
    ctx = hub_of(app)
    with unit_of_work(ctx.sessions) as session:
        created = accounts.add_staff(
            session,
            username=username,
            display_name=username.capitalize(),
            password=password,
            roles=roles or (Role.STAFF,),
            totp_key=ctx.totp_key,
            actor="test",
        )
    return created.totp_secret


def csrf_token(html: bytes | str) -> str:
    """The CSRF token of the (first) form on a page."""
    text = html.decode() if isinstance(html, bytes) else html
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"', text)
    assert match, "no CSRF token on the page"
    return match.group(1) or match.group(2)


def post_form(client: FlaskClient, path: str, data: dict[str, Any], *, page: str | None = None) -> Any:
    """Open the page (``page`` or ``path``), take its CSRF token, and post the form as a browser would."""
    token = csrf_token(client.get(page or path).data)
    return client.post(path, data={**data, "csrf_token": token})


def sign_in(
    client: FlaskClient, username: str, secret: str, *, password: str = PASSWORD, code: str | None = None
) -> Any:
    """Both steps of sign-in; returns the response of the code step."""
    first = post_form(client, "/admin/signin", {"username": username, "password": password})
    assert first.status_code == 302, first.data.decode()[-400:]
    return post_form(client, "/admin/signin/code", {"code": code or totp.current_code(secret)})


def fresh_sessions(url: str) -> tuple[Engine, sessionmaker[Session]]:
    """An engine and session factory of one's own (for tests without an app)."""
    engine = make_engine(url)
    return engine, make_session_factory(engine)


def write_config(folder: Path, **values: Any) -> Path:
    """A hub settings file (TOML) in ``folder`` with its own secret key file; ``values`` override the defaults."""
    secret = folder / "secret_key"
    if not secret.exists():
        write_secret(secret)
    settings = {"data_dir": str(folder), "secret_key_file": str(secret), "mqtt_port": closed_port(), **values}
    lines = []
    for key, value in settings.items():
        if isinstance(value, bool):
            lines.append(f"{key} = {'true' if value else 'false'}")
        elif isinstance(value, int):
            lines.append(f"{key} = {value}")
        else:
            lines.append(f"{key} = {json.dumps(str(value))}")
    path = folder / "hub.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
