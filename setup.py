"""Build hooks: compile the gettext catalogs (.po → .mo) into every built package, so that an installed hub or
kiosk speaks Swedish without the checkout's set-up script, and build the one C extension. All other metadata lives
in pyproject.toml."""

from pathlib import Path

from setuptools import Extension, setup
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


# Variable-time ristretto255 arithmetic for public data (proof checking, tallies): docs/decisions.md D84. Optional:
# without a C compiler the same results come, more slowly, from libsodium (protocol/ballots/public_arithmetic.py).
PUBLIC_ARITHMETIC = Extension(
    "protocol.ballots._public_arithmetic",
    ["protocol/ballots/_public_arithmetic.c"],
    extra_compile_args=["-O2", "-std=gnu11"],
    optional=True,
)

setup(cmdclass={"build_py": BuildPyWithCatalogs}, ext_modules=[PUBLIC_ARITHMETIC])
