"""Golden samples: one committed payload per message type whose bytes ARE the canonical encoding.

Kiosk and hub both check these (SEC-19): each decodes, and re-encodes to exactly the same bytes, so a change
to the codec or to a message type that would break a peer in the field breaks here first. A sample is named
``{kind}-v{schema}.json``; a sample of a schema version this code no longer reads must be refused.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from protocol import codec
from protocol.logs import redact
from protocol.messages import MESSAGE_TYPES, from_payload, to_payload

HERE = Path(__file__).parent
SAMPLES = sorted(HERE.glob("*.json"))
NAME = re.compile(r"(?P<kind>[a-z0-9][a-z0-9-]*)-v(?P<schema>[0-9]+)\.json")


def sample_id(path: Path) -> str:
    return path.name


def parts(path: Path) -> tuple[str, int]:
    match = NAME.fullmatch(path.name)
    assert match, f"{path.name} is not named {{kind}}-v{{schema}}.json"
    return match["kind"], int(match["schema"])


def test_every_message_type_has_a_golden_sample_of_its_current_version() -> None:
    have = {parts(p) for p in SAMPLES}
    assert {(kind, cls.SCHEMA_VERSION) for kind, cls in MESSAGE_TYPES.items()} <= have


@pytest.mark.parametrize("path", SAMPLES, ids=sample_id)
def test_a_golden_sample_is_canonical_and_re_encodes_to_identical_bytes(path: Path) -> None:
    """SEC-19: decode with the strict codec, encode again: the very same bytes, no trailing newline."""
    data = path.read_bytes()
    assert not data.endswith(b"\n"), "an editor added a newline: the canonical encoding has none"
    assert codec.encode(codec.decode(data, max_size=len(data))) == data


@pytest.mark.parametrize("path", SAMPLES, ids=sample_id)
def test_a_golden_sample_is_a_valid_message_of_its_kind(path: Path) -> None:
    """The sample decodes as its message type and that message's payload is the sample."""
    kind, schema = parts(path)
    data = path.read_bytes()
    cls = MESSAGE_TYPES[kind]
    if schema != cls.SCHEMA_VERSION:
        with pytest.raises(codec.DecodeError, match="unsupported schema version"):
            from_payload(kind, data)
        return
    msg = from_payload(kind, data)
    assert type(msg) is cls
    assert to_payload(msg) == data


@pytest.mark.parametrize("path", SAMPLES, ids=sample_id)
def test_a_golden_sample_holds_no_personnummer(path: Path) -> None:
    """SEC-14: examples are copied into code and docs; none may carry a personnummer-shaped number."""
    text = path.read_text(encoding="utf-8")
    assert redact(text) == text
