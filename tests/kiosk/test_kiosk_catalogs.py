"""Every string a resident sees is translated into Swedish and English; the colours are readable (WCAG AA)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

KIOSK = Path(__file__).resolve().parents[2] / "kiosk"
LANGUAGES = ("sv", "en")


def _catalog(lang: str):
    with (KIOSK / "translations" / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh, locale=lang)


def _source_msgids() -> set[str]:
    method_map = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
    keywords = {"_": None, "gettext": None, "_l": None, "lazy_gettext": None}
    found = extract_from_dir(str(KIOSK), method_map=method_map, keywords=keywords)
    return {message if isinstance(message, str) else message[0] for _f, _l, message, _c, _ctx in found}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_msgid_in_the_catalog_is_translated(lang):
    untranslated = [m.id for m in _catalog(lang) if m.id and not m.string]
    fuzzy = [m.id for m in _catalog(lang) if m.id and m.fuzzy]
    assert untranslated == []
    assert fuzzy == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_string_in_the_code_and_templates_is_in_the_catalog(lang):
    in_catalog = {m.id for m in _catalog(lang) if m.id}
    assert _source_msgids() - in_catalog == set()


def _placeholders(text: str) -> list[str]:
    return sorted(re.findall(r"%\(\w+\)[sd]", text))


@pytest.mark.parametrize("lang", LANGUAGES)
def test_translations_keep_their_placeholders(lang):
    for message in _catalog(lang):
        if not message.id:
            continue
        source = message.id if isinstance(message.id, str) else message.id[-1]
        forms = [message.string] if isinstance(message.string, str) else list(message.string)
        for form in forms:
            assert _placeholders(source) == _placeholders(form), source


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize(
    ("text", "background"),
    [
        ("--ink", "--paper"),
        ("--ink-soft", "--paper"),
        ("--ink-soft", "--card"),
        ("--ink", "--card"),
        ("#ffffff", "--accent"),
        ("#ffffff", "--accent-active"),
        ("--accent", "--surface"),
        ("--ink-soft", "--surface"),
    ],
)
def test_text_colours_meet_wcag_aa_contrast(text, background):
    css = (KIOSK / "static" / "kiosk.css").read_text(encoding="utf-8")
    palette = dict(re.findall(r"(--[a-z-]+):\s*(#[0-9a-f]{6})", css))
    ratio = _contrast(palette.get(text, text), palette.get(background, background))
    assert ratio >= 4.5, f"{text} on {background}: {ratio:.2f}:1"
