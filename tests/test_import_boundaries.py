"""One-way imports (STYLE.md habit 1, docs/decisions.md D1): read every import with `ast`, refuse crossings.

``kiosk``, ``hub``, ``provisioning`` and ``trustee`` import ``protocol``, never each other, and nothing imports
``tinget`` (the shell that holds the command). ``protocol`` is the contract: it imports none of them and no web or
database framework; paho is allowed in ``protocol/mqtt.py`` alone. Imports inside functions count too: a lazy
import is still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FRAMEWORKS = frozenset({"flask", "flask_babel", "flask_wtf", "werkzeug", "jinja2", "sqlalchemy", "alembic"})
FORBIDDEN: dict[str, frozenset[str]] = {
    "kiosk": frozenset({"hub", "provisioning", "tinget"}),
    "hub": frozenset({"kiosk", "provisioning", "tinget"}),
    "provisioning": frozenset({"hub", "kiosk", "tinget"}),
    "protocol": frozenset({"hub", "kiosk", "provisioning", "tinget", "trustee", "paho"}) | FRAMEWORKS,
    # A trustee's machine runs only the trustee tooling and the protocol it speaks: no hub, kiosk or web stack.
    "trustee": frozenset({"hub", "kiosk", "provisioning", "tinget", "paho"}) | FRAMEWORKS,
}
ALLOWED: dict[str, frozenset[str]] = {"protocol/mqtt.py": frozenset({"paho"})}


def imported_modules(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in ``tree``; relative imports stay in their package."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def violations(root: Path) -> list[str]:
    """Every forbidden import under ``root``, as ``path:line imports module``."""
    found: list[str] = []
    for package, forbidden in FORBIDDEN.items():
        for path in sorted((root / package).rglob("*.py")):
            rel = path.relative_to(root).as_posix()
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=rel)
            for line, module in imported_modules(tree):
                top = module.split(".")[0]
                if top in forbidden and top not in ALLOWED.get(rel, frozenset()):
                    found.append(f"{rel}:{line} imports {module}")
    return found


def test_no_package_imports_across_the_boundaries() -> None:
    """Fails with the file, line and module of every crossing."""
    assert violations(ROOT) == []


def test_the_checker_catches_direct_lazy_and_from_imports(tmp_path: Path) -> None:
    """The test above would fail if a boundary were crossed: here it is crossed on purpose in every form."""
    for package in FORBIDDEN:
        (tmp_path / package).mkdir()
    (tmp_path / "kiosk" / "views.py").write_text("import hub.models\nfrom protocol import codec\n")
    (tmp_path / "hub" / "ingest.py").write_text("def run():\n    from kiosk.outbox import Outbox\n")
    (tmp_path / "provisioning" / "ca.py").write_text("from tinget import cli\nfrom . import pem\n")
    (tmp_path / "protocol" / "codec.py").write_text("import sqlalchemy.orm\nimport paho.mqtt.client\n")
    (tmp_path / "protocol" / "mqtt.py").write_text("import paho.mqtt.client as mqtt\nimport flask\n")
    assert violations(tmp_path) == [
        "kiosk/views.py:1 imports hub.models",
        "hub/ingest.py:2 imports kiosk.outbox",
        "provisioning/ca.py:1 imports tinget",
        "protocol/codec.py:1 imports sqlalchemy.orm",
        "protocol/codec.py:2 imports paho.mqtt.client",
        "protocol/mqtt.py:2 imports flask",
    ]
