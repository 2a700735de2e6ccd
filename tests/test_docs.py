"""The operator documentation stays true to the code: every setting, every link, every `tinget` command.

The first five columns of the settings tables in docs/configuration.md are derived from the dataclasses; print
them for a new or changed setting with:

    .venv/bin/python tests/test_docs.py
"""

from __future__ import annotations

import dataclasses
import json
import re
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
CONFIGURATION = DOCS / "configuration.md"
# Settings whose name starts with one of these are shown in their TOML table: `web_port` as `[web] port`.
TABLE_GROUPS = ("web", "mqtt", "signin", "idle")
# Tokens that start a `tinget` command line in the docs; `tinget-admin` is the hub wrapper from install-hub.md.
COMMAND_NAMES = ("tinget", "tinget-admin")
COMMAND_WORD = re.compile(r"[a-z][a-z0-9-]*")


def settings_classes() -> dict[str, tuple[type, dict[str, Any]]]:
    """Each settings class by the heading word that introduces its table, with values for required fields."""
    from hub.settings import HubSettings
    from kiosk.settings import KioskSettings

    return {
        "HubSettings": (HubSettings, {}),
        "KioskSettings": (KioskSettings, {"device_id": "ange", "office_name": "Änge"}),
    }


def toml_key(name: str) -> str:
    """How the setting is written in a TOML file (the flat form ``mqtt_host = …`` works as well)."""
    group, _, rest = name.partition("_")
    return f"`[{group}] {rest}`" if group in TABLE_GROUPS and rest else f"`{name}`"


def type_name(hint: Any) -> str:
    """A type as an operator reads it."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        inner = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return f"{type_name(inner[0])}, optional"
    if origin in (tuple, list):
        return f"list of {type_name(typing.get_args(hint)[0])}"
    names = {str: "text", int: "integer", bool: "true/false", float: "number", Path: "path"}
    return names[hint]


def toml_value(value: Any) -> str:
    """A default as it would be written in the TOML file."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, tuple | list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)


def default_text(example: Any, field: dataclasses.Field[Any]) -> str:
    """The default: required, a TOML value, or a file inside ``data_dir`` when it is filled in from that."""
    if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
        return "required"
    effective = getattr(example, field.name)
    if field.default is None and isinstance(effective, Path):
        data_dir = getattr(example, "data_dir", None)
        if isinstance(data_dir, Path) and effective.parent == data_dir:
            return f"`<data_dir>/{effective.name}`"
    if effective is None:
        return "none"
    return f"`{toml_value(effective)}`"


def setting_rows(cls: type, required: dict[str, Any]) -> dict[str, str]:
    """Field name -> the start of its table row: name, TOML key, variable, type, default."""
    hints = typing.get_type_hints(cls)
    example = cls(**required)
    rows = {}
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        rows[field.name] = (
            f"| `{field.name}` | {toml_key(field.name)} | `TINGET_{field.name.upper()}` | "
            f"{type_name(hints[field.name])} | {default_text(example, field)} |"
        )
    return rows


def section(text: str, marker: str) -> str:
    """The part of a Markdown document under the level-2 heading that mentions ``marker``."""
    parts = re.split(r"^## ", text, flags=re.M)
    found = [part for part in parts[1:] if marker in part.splitlines()[0]]
    assert found, f"docs/configuration.md has no '## …' heading mentioning {marker}"
    return found[0]


@pytest.mark.parametrize("class_name", ["HubSettings", "KioskSettings"])
def test_every_setting_is_documented_with_its_real_key_variable_type_and_default(class_name: str) -> None:
    cls, required = settings_classes()[class_name]
    table = section(CONFIGURATION.read_text(encoding="utf-8"), class_name)
    lines = table.splitlines()
    missing = [row for row in setting_rows(cls, required).values() if not any(line.startswith(row) for line in lines)]
    assert not missing, (
        f"docs/configuration.md does not document these {class_name} fields as they are (print the rows with "
        "`.venv/bin/python tests/test_docs.py`):\n" + "\n".join(missing)
    )


@pytest.mark.parametrize("class_name", ["HubSettings", "KioskSettings"])
def test_the_settings_tables_name_no_setting_that_does_not_exist(class_name: str) -> None:
    cls, _required = settings_classes()[class_name]
    table = section(CONFIGURATION.read_text(encoding="utf-8"), class_name)
    documented = re.findall(r"^\| `([a-z_]+)` \|", table, flags=re.M)
    fields = {field.name for field in dataclasses.fields(cls)}  # type: ignore[arg-type]
    assert documented, f"no settings table under the {class_name} heading"
    assert set(documented) <= fields, f"documented but not in {class_name}: {sorted(set(documented) - fields)}"


def markdown_files() -> list[Path]:
    """README.md and every document under docs/."""
    return [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]


FENCE = re.compile(r"^[ \t]*```[^\n]*\n(.*?)^[ \t]*```[ \t]*$", flags=re.S | re.M)
INLINE_CODE = re.compile(r"`([^`\n]+)`")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def prose(text: str) -> str:
    """The text without code blocks and inline code (a `[x](y)` in code is not a link)."""
    return INLINE_CODE.sub("", FENCE.sub("", text))


def relative_links(path: Path) -> Iterator[str]:
    """Every link target in ``path`` that is neither a URL nor an anchor on the same page."""
    for target in LINK.findall(prose(path.read_text(encoding="utf-8"))):
        if re.match(r"[a-zA-Z][a-zA-Z0-9+.-]*:", target) or target.startswith("#"):
            continue
        yield target


def anchors(path: Path) -> set[str]:
    """The anchors GitHub makes of the headings in ``path``: lower case, punctuation dropped, spaces to ``-``."""
    headings = re.findall(r"^#{1,6}[ \t]+(.+?)[ \t]*$", FENCE.sub("", path.read_text(encoding="utf-8")), flags=re.M)
    return {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-") for heading in headings}


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_points_at_a_file_that_exists(path: Path) -> None:
    broken = []
    for target in relative_links(path):
        file_part, _, anchor = target.partition("#")
        linked = path.parent / file_part
        if not linked.exists():
            broken.append(target)
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            broken.append(f"{target} (no such heading)")
    assert not broken, f"{path.relative_to(ROOT)} links to files or headings that do not exist: {broken}"


def code_snippets(text: str) -> list[str]:
    """Each line of every fenced code block, and every inline code span."""
    lines = [line for block in FENCE.findall(text) for line in block.splitlines()]
    return lines + INLINE_CODE.findall(FENCE.sub("", text))


def command_mentions(text: str) -> Iterator[tuple[str, list[str]]]:
    """(snippet, the words after ``tinget``) for every `tinget …` in code, up to the first non-word token."""
    for snippet in code_snippets(text):
        tokens = snippet.split()
        for index, token in enumerate(tokens):
            if token not in COMMAND_NAMES and not token.endswith("/bin/tinget"):
                continue
            words = []
            for word in tokens[index + 1 :]:
                if not COMMAND_WORD.fullmatch(word):
                    break
                words.append(word)
            yield snippet, words


def command_path(words: list[str]) -> tuple[list[str], str | None]:
    """Walk click's command tree along ``words``: the path found, and the first word that is no sub-command.

    Lenient: once a word reaches a command that is not a group, the rest (arguments) is not looked at.
    """
    from tinget.cli import cli

    command: click.Command = cli
    ctx = click.Context(cli, info_name="tinget")
    path = ["tinget"]
    for word in words:
        if not isinstance(command, click.Group):
            break
        sub = command.get_command(ctx, word)
        if sub is None:
            return path, word
        command, ctx = sub, click.Context(sub, info_name=word, parent=ctx)
        path.append(word)
    return path, None


def documented_commands() -> dict[str, list[str]]:
    """Every command path mentioned in the docs -> where (file: snippet)."""
    found: dict[str, list[str]] = {}
    for path in markdown_files():
        for snippet, words in command_mentions(path.read_text(encoding="utf-8")):
            found.setdefault(" ".join(words), []).append(f"{path.relative_to(ROOT)}: {snippet}")
    return found


def test_every_tinget_command_the_docs_mention_exists() -> None:
    unknown = []
    for words, places in documented_commands().items():
        known, wrong = command_path(words.split())
        if wrong is not None:
            unknown.append(f"`{' '.join(known)} {wrong}` is no command (in {places[0]})")
    assert not unknown, "\n".join(unknown)


def leaf_commands() -> Iterator[str]:
    """Every command of `tinget` that is not a group (and not hidden), as ``hub user add``."""
    from tinget.cli import cli

    def walk(group: click.Group, ctx: click.Context, prefix: list[str]) -> Iterator[str]:
        for name in group.list_commands(ctx):
            command = group.get_command(ctx, name)
            if command is None or command.hidden:
                continue
            if isinstance(command, click.Group):
                yield from walk(command, click.Context(command, info_name=name, parent=ctx), [*prefix, name])
            else:
                yield " ".join([*prefix, name])

    yield from walk(cli, click.Context(cli, info_name="tinget"), [])


def test_every_tinget_command_is_documented_somewhere() -> None:
    mentioned = set()
    for words in documented_commands():
        path, _wrong = command_path(words.split())
        mentioned.add(" ".join(path[1:]))
    undocumented = sorted(set(leaf_commands()) - mentioned)
    assert not undocumented, f"no document in README.md or docs/ shows these commands: {undocumented}"


def test_the_command_check_reads_commands_and_refuses_unknown_ones() -> None:
    text = "Run `tinget hub user add anna --role admin`.\n```sh\n/opt/tinget/venv/bin/tinget hub frobnicate\n```\n"
    mentions = {" ".join(words) for _snippet, words in command_mentions(text)}
    assert mentions == {"hub user add anna", "hub frobnicate"}
    assert command_path(["hub", "user", "add", "anna"]) == (["tinget", "hub", "user", "add"], None)
    assert command_path(["hub", "frobnicate"]) == (["tinget", "hub"], "frobnicate")


if __name__ == "__main__":
    for heading, (cls, required) in settings_classes().items():
        print(f"\n{heading}\n")
        print("| setting | TOML key | variable | type | default | meaning |")
        print("| --- | --- | --- | --- | --- | --- |")
        for row in setting_rows(cls, required).values():
            print(f"{row}  |")
