"""The one canonical encoding of everything kiosk and hub exchange or hash: deterministic, strict JSON.

The rules (docs/protocol.md says the same for someone writing a peer in another language):

* UTF-8 JSON text (RFC 8259) without insignificant whitespace, object keys sorted by Unicode code point, and
  no escapes but the ones JSON requires: ``\\"``, ``\\\\``, ``\\b \\f \\n \\r \\t`` and ``\\u00XX``
  (lower-case hex) for the other control characters below U+0020. All other text, non-ASCII included, is
  written as is.
* Values are objects (string keys only), arrays, strings, integers, ``true``, ``false`` and ``null``.
* **No floats**: a number with a fraction or an exponent is refused, as are NaN and the infinities. Integers
  must lie within ±(2**53 − 1), the range every JSON implementation holds exactly. ``-0`` is not canonical.
* Strings (keys and values) must be in Unicode Normalisation Form C without lone surrogates. We refuse rather
  than normalise: normalising inside the codec would give two different objects the same hash (and the same
  signature), so text is normalised where it enters the system, and the codec only checks.
* Objects must not repeat a key; nesting is at most `MAX_DEPTH` arrays/objects deep.

`encode` produces the canonical bytes; `decode` accepts only canonical bytes by default (so the SHA-256 of a
received payload equals `canonical_hash` of what it decodes to), or, with ``canonical=False``, any well-formed
JSON text that obeys the value rules. Every failure is an `EncodeError` or a `DecodeError` (both `CodecError`,
both `ValueError`) whose message says what was wrong and where (SEC-19).
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from typing import Any, NoReturn

MAX_DEPTH = 32
"""Arrays and objects nest at most this deep. Our messages use four levels; the margin is for later types."""

MAX_SAFE_INTEGER = 2**53 - 1
"""Integers beyond ±this do not survive JavaScript or any IEEE-754 JSON parser, so they are refused."""

# A digit string this long (sign included) is out of range whatever it says; checked before int() sees it.
_MAX_INT_CHARS = len(str(-MAX_SAFE_INTEGER))


class CodecError(ValueError):
    """A value or a byte string does not follow the canonical encoding; the message says what and where."""


class EncodeError(CodecError):
    """An object cannot be encoded canonically (a float, a non-string key, non-NFC text, …): a bug."""


class DecodeError(CodecError):
    """Bytes from a peer are not a valid payload: the one exception a decoder lets escape (SEC-19)."""


def _where(path: str) -> str:
    return f" at {path}" if path else ""


def _check_text(text: str, path: str) -> str | None:
    """Return what is wrong with ``text`` as protocol text, or None."""
    if text.isascii():  # ASCII text is always NFC and holds no surrogates (most protocol text: ids, hex, dates)
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return f"text contains a lone surrogate{_where(path)}"
    if not unicodedata.is_normalized("NFC", text):
        return f"text is not in Unicode normalisation form NFC{_where(path)}"
    return None


def problem(value: object) -> str | None:
    """The first encoding rule ``value`` breaks, as a sentence, or None when it can be encoded canonically."""
    # An explicit stack, not recursion: a decoded value may be nested as deep as the JSON parser allows.
    stack: list[tuple[object, str, int]] = [(value, "", 1)]
    while stack:
        item, path, depth = stack.pop()
        if item is None or isinstance(item, bool):
            continue
        if isinstance(item, int):
            if not -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER:
                return f"integer {item} is outside ±(2**53 - 1){_where(path)}"
        elif isinstance(item, str):
            bad = _check_text(item, path)
            if bad:
                return bad
        elif isinstance(item, float):
            return f"floats are not allowed (got {item!r}){_where(path)}; use an integer (e.g. milliseconds)"
        elif isinstance(item, dict | list | tuple):
            if depth > MAX_DEPTH:
                return f"nesting is deeper than {MAX_DEPTH} levels{_where(path)}"
            if isinstance(item, dict):
                for key, child in item.items():
                    if not isinstance(key, str):
                        return f"object key {key!r} is not a string{_where(path)}"
                    bad = _check_text(key, f"{path}.{key}" if path else key)
                    if bad:
                        return bad
                    stack.append((child, f"{path}.{key}" if path else key, depth + 1))
            else:
                stack.extend((child, f"{path}[{i}]", depth + 1) for i, child in enumerate(item))
        else:
            return f"type {type(item).__name__} cannot be encoded{_where(path)}"
    return None


def validate(obj: object) -> None:
    """Raise `EncodeError` unless ``obj`` can be encoded canonically (the module docstring has the rules)."""
    bad = problem(obj)
    if bad:
        raise EncodeError(bad)


def encode(obj: object) -> bytes:
    """The canonical bytes of ``obj``. Tuples encode as arrays (and decode as lists). Raises `EncodeError`."""
    validate(obj)
    return encode_valid(obj)


def encode_valid(obj: object) -> bytes:
    """`encode` without the validation walk, for hot paths whose values are already known to obey the rules: parts
    of something `decode` returned, or objects built only from validated parts (hex digits, small integers, text
    checked where it entered). Given anything else it may return bytes that are not canonical.
    """
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def canonical_hash(obj: object) -> str:
    """The SHA-256 of ``encode(obj)`` as 64 lower-case hex digits: what gets hashed, chained and signed."""
    return hashlib.sha256(encode(obj)).hexdigest()


def _refuse_float(text: str) -> NoReturn:
    raise DecodeError(f"floats are not allowed (got {text[:40]}); numbers must be integers")


def _refuse_constant(text: str) -> NoReturn:
    raise DecodeError(f"{text} is not allowed; numbers must be integers")


def _parse_int(text: str) -> int:
    if len(text) > _MAX_INT_CHARS or not -MAX_SAFE_INTEGER <= int(text) <= MAX_SAFE_INTEGER:
        raise DecodeError(f"integer {text[:40]} is outside ±(2**53 - 1)")
    return int(text)


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _value in pairs:
            if key in seen:
                raise DecodeError(f"duplicate object key {key[:80]!r}")
            seen.add(key)
    return obj


def decode(data: bytes | bytearray | memoryview, *, max_size: int, canonical: bool = True) -> Any:
    """Decode payload bytes into plain JSON values (dict, list, str, int, bool, None).

    ``max_size`` is required: the caller decides how much it is willing to read. With ``canonical=True`` (the
    default) the bytes must be exactly what `encode` would produce for the value. Raises only `DecodeError`.
    """
    raw = bytes(data)
    if len(raw) > max_size:
        raise DecodeError(f"payload is {len(raw)} bytes; the limit is {max_size}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DecodeError(f"payload is not valid UTF-8 (byte {exc.start})") from None
    try:
        obj = json.loads(
            text,
            parse_float=_refuse_float,
            parse_int=_parse_int,
            parse_constant=_refuse_constant,
            object_pairs_hook=_object,
        )
    except DecodeError:
        raise
    except RecursionError:
        raise DecodeError(f"nesting is deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:  # json.JSONDecodeError and int() on odd digit strings
        raise DecodeError(f"payload is not JSON: {exc}") from None
    bad = problem(obj)
    if bad:
        raise DecodeError(bad)
    if canonical:
        expected = encode_valid(obj)  # `problem` has just checked every value
        if expected != raw:
            at = next((i for i, (a, b) in enumerate(zip(expected, raw, strict=False)) if a != b), None)
            where = f"first difference at byte {at}" if at is not None else "length differs"
            raise DecodeError(f"payload is not in canonical form ({where}): keys sorted, no spaces, minimal escapes")
    return obj
