"""The UI speaks Swedish first: every message in the code and templates has a Swedish translation."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

HUB = Path(__file__).resolve().parents[2] / "hub"


def catalog(lang: str):  # type: ignore[no-untyped-def]
    with (HUB / "translations" / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh)


def extracted_ids() -> set[str]:
    with (HUB / "babel.cfg").open(encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}
    ids = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(HUB), method_map, options_map, keywords=keywords
    ):
        ids.add(message[0] if isinstance(message, tuple) else message)
    return ids


def test_every_message_has_a_swedish_translation() -> None:
    """A new string without a Swedish translation fails here (run pybabel extract/update, see hub/babel.cfg)."""
    swedish = catalog("sv")
    translated = {m.id[0] if isinstance(m.id, tuple) else m.id for m in swedish if m.id and m.string and all(m.string)}
    missing = sorted(extracted_ids() - translated)
    assert missing == []


def test_english_has_a_catalog_with_the_same_messages() -> None:
    """English is a catalog too (msgids are English, so its translations may stay empty)."""
    english = {m.id[0] if isinstance(m.id, tuple) else m.id for m in catalog("en") if m.id}
    assert extracted_ids() <= english
