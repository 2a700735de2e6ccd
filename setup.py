"""Build hook: compile the gettext catalogs (.po → .mo) into every built package, so that an installed hub or
kiosk speaks Swedish without the checkout's set-up script. All other metadata lives in pyproject.toml."""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildPyWithCatalogs(build_py):
    """The standard build, plus a compiled messages.mo next to each messages.po."""

    def run(self) -> None:
        super().run()
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        for po in Path().glob("*/translations/*/LC_MESSAGES/messages.po"):
            target = Path(self.build_lib) / po.with_suffix(".mo")
            target.parent.mkdir(parents=True, exist_ok=True)
            with po.open("rb") as source:
                catalog = read_po(source)
            with target.open("wb") as out:
                write_mo(out, catalog)


setup(cmdclass={"build_py": BuildPyWithCatalogs})
