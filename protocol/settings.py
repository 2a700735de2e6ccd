"""Settings from a TOML file plus ``TINGET_*`` environment variables; secrets only from files.

Every process (hub web, hub ingest, kiosk UI, kiosk sync) builds one frozen settings object at start-up with
`load_settings`. The TOML file may group keys in tables: ``[mqtt] host = "…"`` fills the field ``mqtt_host``,
and the variable ``TINGET_MQTT_HOST`` overrides it. Secrets are never values in the file or the environment:
a setting ending in ``_file`` names a file, and `read_secret` refuses files that others can read.
"""

from __future__ import annotations

import dataclasses
import os
import stat
import tomllib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

ENV_PREFIX = "TINGET_"

T = TypeVar("T")


class ConfigError(Exception):
    """A setting is missing, malformed or unsafe. The message says which and how to fix it."""


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in table.items():
        name = f"{prefix}{key}".replace("-", "_")
        if isinstance(value, Mapping):
            flat.update(_flatten(value, name + "_"))
        else:
            flat[name] = value
    return flat


def read_toml(path: Path) -> dict[str, Any]:
    """Read a TOML settings file into flat ``section_key`` names; a clear `ConfigError` on any problem."""
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ConfigError(f"settings file {path} does not exist") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"settings file {path} is not valid TOML: {exc}") from exc
    except OSError as exc:
        raise ConfigError(f"settings file {path} cannot be read: {exc.strerror}") from exc
    return _flatten(data)


def _coerce(name: str, raw: Any, kind: Any, source: str) -> Any:
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(kind) if a is not type(None)]
        if raw is None or raw == "":
            return None
        return _coerce(name, raw, args[0], source)
    if origin in (tuple, list):
        (inner, *_rest) = typing.get_args(kind) or (str,)
        items = [s.strip() for s in raw.split(",") if s.strip()] if isinstance(raw, str) else raw
        if not isinstance(items, list | tuple):
            raise ConfigError(f"{name} ({source}) must be a list, got {raw!r}")
        return tuple(_coerce(name, item, inner, source) for item in items)
    if kind is bool:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.lower() in ("1", "true", "yes", "on"):
            return True
        if isinstance(raw, str) and raw.lower() in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{name} ({source}) must be true or false, got {raw!r}")
    if kind is int:
        if isinstance(raw, bool):
            raise ConfigError(f"{name} ({source}) must be a whole number, got {raw!r}")
        try:
            return int(raw)
        except (TypeError, ValueError):
            raise ConfigError(f"{name} ({source}) must be a whole number, got {raw!r}") from None
    if kind is float:
        try:
            return float(raw)
        except (TypeError, ValueError):
            raise ConfigError(f"{name} ({source}) must be a number, got {raw!r}") from None
    if kind is Path:
        if not isinstance(raw, str | Path):
            raise ConfigError(f"{name} ({source}) must be a path, got {raw!r}")
        return Path(raw).expanduser()
    if kind is str:
        if not isinstance(raw, str):
            raise ConfigError(f"{name} ({source}) must be text, got {raw!r}")
        return raw
    raise ConfigError(f"{name}: unsupported setting type {kind!r}")  # a programming error, said plainly


def load_settings(
    cls: type[T],
    path: Path | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> T:
    """Build the frozen settings dataclass ``cls`` from defaults < TOML file < environment < overrides.

    Unknown keys in the file are refused (a typo must not silently fall back to a default).
    """
    env = os.environ if env is None else env
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    values: dict[str, Any] = {}
    if path is not None:
        for key, raw in read_toml(path).items():
            if key not in fields:
                known = ", ".join(sorted(fields))
                raise ConfigError(f"settings file {path}: unknown setting {key!r} (known: {known})")
            values[key] = _coerce(key, raw, hints[key], str(path))
    for name in fields:
        var = ENV_PREFIX + name.upper()
        if var in env:
            values[name] = _coerce(name, env[var], hints[name], var)
    for name, raw in (overrides or {}).items():
        if name not in fields:
            raise ConfigError(f"unknown setting {name!r}")
        if raw is not None:
            values[name] = _coerce(name, raw, hints[name], "command line") if isinstance(raw, str) else raw
    missing = [
        n
        for n, f in fields.items()
        if n not in values and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise ConfigError("missing settings: " + ", ".join(f"{n} (or {ENV_PREFIX}{n.upper()})" for n in missing))
    return cls(**values)


def read_secret(path: Path, *, what: str = "secret") -> bytes:
    """Read a secret from a file that only its owner may read (mode 0600 or 0400); strip a trailing newline."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ConfigError(f"{what} file {path} does not exist") from None
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"{what} file {path} can be read by others (mode {stat.filemode(info.st_mode)}); run: chmod 600 {path}"
        )
    data = path.read_bytes().rstrip(b"\r\n")
    if not data:
        raise ConfigError(f"{what} file {path} is empty")
    return data


def ensure_secret(path: Path, nbytes: int = 32, *, what: str = "secret") -> bytes:
    """Read a secret file, creating it with fresh random content (mode 0600) if it does not exist yet.

    For demo and first-run set-up only; production configuration points at files IT has provisioned.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(os.urandom(nbytes).hex() + "\n")
    return read_secret(path, what=what)
