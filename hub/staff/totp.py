"""The second factor: TOTP (RFC 6238) codes from any authenticator app, with secrets sealed at rest.

A TOTP secret is stored encrypted (AES-256-GCM under a key derived from the hub's secret key, bound to the
username), so a copy of the database alone does not let anyone make codes. A code is accepted once: the time
step it was made for is remembered, and that step or an earlier one is refused next time.
"""

from __future__ import annotations

import base64
import os
import time

import pyotp
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

ISSUER = "Tinget"
VALID_WINDOW = 1  # accept the previous and the next 30-second step: clocks on phones drift
_SEALED_PREFIX = "v1:"


class SealError(ValueError):
    """A sealed TOTP secret cannot be opened (wrong hub secret key, or the row was tampered with)."""


def new_secret() -> str:
    """A fresh random base32 TOTP secret (160 bits)."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, username: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads (as a QR code or typed in)."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def seal(secret: str, key: bytes, username: str) -> str:
    """Encrypt ``secret`` for storage, bound to ``username``."""
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, secret.encode("ascii"), b"staff-totp:" + username.encode("utf-8"))
    return _SEALED_PREFIX + base64.b64encode(nonce + sealed).decode("ascii")


def unseal(sealed: str, key: bytes, username: str) -> str:
    """Decrypt a stored secret; `SealError` when it cannot be opened."""
    if not sealed.startswith(_SEALED_PREFIX):
        raise SealError("unknown sealed-secret format")
    raw = base64.b64decode(sealed[len(_SEALED_PREFIX) :])
    try:
        plain = AESGCM(key).decrypt(raw[:12], raw[12:], b"staff-totp:" + username.encode("utf-8"))
    except InvalidTag:
        raise SealError("the TOTP secret does not open with this hub's secret key") from None
    return plain.decode("ascii")


def matching_step(secret: str, code: str, *, last_step: int | None, now: float | None = None) -> int | None:
    """The time step ``code`` was made for if it is valid and newer than ``last_step``; otherwise None."""
    code = code.strip().replace(" ", "")
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    at = time.time() if now is None else now
    current = int(at // totp.interval)
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if last_step is not None and step <= last_step:
            continue
        if pyotp.utils.strings_equal(totp.at(step * totp.interval), code):
            return step
    return None


def current_code(secret: str, now: float | None = None) -> str:
    """The code an authenticator app shows now (the demo prints it; tests sign in with it)."""
    return pyotp.TOTP(secret).at(time.time() if now is None else now)
