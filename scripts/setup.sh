#!/usr/bin/env bash
# Installs what Tinget needs on a Debian 12 machine, idempotently:
#   1. Debian packages (as root, or through sudo) that are not yet installed,
#   2. a .venv with the project installed in editable mode with its dev extras,
#   3. the compiled translation catalogs.
# Safe to run again: each step is skipped when it is already done.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBS=(
    mosquitto            # the MQTT broker (tests and the demo start their own on a free port)
    pcscd                # PC/SC daemon, the real smartcard stack
    vsmartcard-vpcd      # virtual reader driver that our card emulator connects to
    swig                 # pyscard builds from source
    libpcsclite-dev
    opensc               # pkcs15-tool / pkcs11-tool prove the emulated card speaks PIV
    libsodium23          # ballot cryptography (pysodium loads it)
    chromium             # kiosk browser and end-to-end tests (Playwright drives /usr/bin/chromium)
    fonts-dejavu-core
    python3-venv
    python3-dev
    gcc
    make
)

missing=()
for pkg in "${DEBS[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing Debian packages: ${missing[*]}"
    if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; else
        echo "setup: these Debian packages are missing and I am not root (and there is no sudo): ${missing[*]}" >&2
        echo "setup: install them with: apt-get install ${missing[*]}" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -q
    $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

PY=${PYTHON:-python3}
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "setup: Tinget needs Python 3.11 or newer; $PY is $("$PY" --version 2>&1)" >&2
    exit 1
fi
if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv"
    "$PY" -m venv .venv
fi
stamp=.venv/.tinget-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "setup: installing Tinget and its dependencies into .venv"
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e '.[dev]'
    touch "$stamp"
fi

# The C extension for checking ballot proofs (docs/decisions.md D84) is built in place by the editable install;
# rebuild it when its source or setup.py changed since (a pulled change would otherwise run the old build).
ext_src=protocol/ballots/_public_arithmetic.c
ext_so=$(ls protocol/ballots/_public_arithmetic*.so 2>/dev/null | head -n 1)
if [ -z "$ext_so" ] || [ "$ext_src" -nt "$ext_so" ] || [ setup.py -nt "$ext_so" ]; then
    echo "setup: building the C extension for ballot proofs"
    .venv/bin/python -m pip install -q --no-deps -e .
fi

# Translation catalogs: .po files are the source, .mo files are built here (never committed).
for dir in kiosk/translations hub/translations; do
    [ -d "$dir" ] || continue
    for po in "$dir"/*/LC_MESSAGES/messages.po; do
        [ -f "$po" ] || continue
        mo="${po%.po}.mo"
        if [ ! -f "$mo" ] || [ "$po" -nt "$mo" ]; then
            .venv/bin/pybabel compile -i "$po" -o "$mo"
        fi
    done
done
echo "setup: ready"
