"""Reading kiosk pages in tests the way a browser does: the CSRF token a page hands out, the text it shows."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

_CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


def csrf_token(client: FlaskClient, path: str = "/") -> str:
    """The CSRF token the page at ``path`` hands its forms (and idle.js)."""
    page = client.get(path).get_data(as_text=True)
    match = _CSRF_META.search(page)
    assert match, f"no csrf-token meta tag on {path}"
    return match.group(1)


def text_of(response: object) -> str:
    """The response body as text."""
    return response.get_data(as_text=True)  # type: ignore[attr-defined]
