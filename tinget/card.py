"""`tinget card`: a test card in a virtual reader, for trying the PC/SC stack and OpenSC by hand.

``tinget card check CARD`` starts a private pcscd with a virtual reader, inserts the test card (the project's
emulator, `kiosk.card.emulator`) and has OpenSC's own PIV driver read it and sign with it — the proof that the
emulated card speaks real PIV, and a quick check that pcscd, vpcd and OpenSC work on a machine.
``tinget card insert CARD`` keeps a card in a virtual reader until Ctrl-C, for trying other tools against it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import click

from tinget.pcscd import PcscdUnavailable, PrivatePcscd, free_port_pair
from tinget.supervisor import stop_process_group

OPENSC_PKCS11 = Path("/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so")
TOOL_TIMEOUT_SECONDS = 60


def opensc_module() -> Path | None:
    """OpenSC's PKCS#11 module on this machine (its path depends on the architecture), or None."""
    for candidate in (OPENSC_PKCS11, *Path("/usr/lib").glob("*/opensc-pkcs11.so"), Path("/usr/lib/opensc-pkcs11.so")):
        if candidate.exists():
            return candidate
    return None


@dataclass
class RunningReader:
    """A private pcscd with a virtual reader, and the environment a PC/SC program needs to find it."""

    pcscd: PrivatePcscd
    process: subprocess.Popen[bytes]

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, **self.pcscd.client_env}


@contextlib.contextmanager
def virtual_reader(root: Path) -> Iterator[RunningReader]:
    """Run a private pcscd (readers on a free port pair) until the block ends."""
    pcscd = PrivatePcscd(root, free_port_pair())
    pcscd.prepare()
    log = (root / "pcscd.log").open("wb")
    process = subprocess.Popen(pcscd.command(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    try:
        if not pcscd.wait_ready():
            raise PcscdUnavailable(f"pcscd did not start; see {root / 'pcscd.log'}")
        yield RunningReader(pcscd, process)
    finally:
        stop_process_group(process, 10.0)


def opensc_check(card_file: Path, work: Path) -> list[tuple[str, bool, str]]:
    """Insert the card in a virtual reader and run OpenSC against it: (step, passed, output) per step."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

    from kiosk.card.emulator import VirtualCard
    from kiosk.card.model import model_from_file
    from protocol.testcard import read_test_card

    card = read_test_card(card_file)
    module = opensc_module()
    if module is None or shutil.which("pkcs15-tool") is None:
        raise click.ClickException("OpenSC is not installed: apt-get install opensc")
    steps: list[tuple[str, bool, str]] = []
    with virtual_reader(work) as reader:
        virtual = VirtualCard(model_from_file(card), reader.pcscd.reader_port(0))
        virtual.insert()
        try:
            time.sleep(0.5)  # pcscd polls the virtual reader a few times a second
            listed = _run(["pkcs15-tool", "--list-certificates"], reader.env)
            subject_ok = "Certificate for PIV Authentication" in listed.stdout
            steps.append(("pkcs15-tool --list-certificates", subject_ok, listed.stdout + listed.stderr))
            message, signature = work / "message.txt", work / "signature.bin"
            message.write_bytes(b"Tinget OpenSC check\n")
            mechanism = (
                "ECDSA-SHA256" if isinstance(card.private_key(), ec.EllipticCurvePrivateKey) else "SHA256-RSA-PKCS"
            )
            signed = _run(
                ["pkcs11-tool", "--module", str(module), "--login", "--pin", card.pin, "--sign", "--id", "01",
                 "--mechanism", mechanism, "-i", str(message), "-o", str(signature)],
                reader.env,
            )  # fmt: skip
            verified, detail = False, signed.stdout + signed.stderr
            if signed.returncode == 0 and signature.exists():
                public_key = card.certificate().public_key()
                raw = signature.read_bytes()
                try:
                    if isinstance(public_key, ec.EllipticCurvePublicKey):
                        der = utils.encode_dss_signature(int.from_bytes(raw[:32]), int.from_bytes(raw[32:]))
                        public_key.verify(der, message.read_bytes(), ec.ECDSA(hashes.SHA256()))
                    elif isinstance(public_key, rsa.RSAPublicKey):
                        public_key.verify(raw, message.read_bytes(), padding.PKCS1v15(), hashes.SHA256())
                    else:
                        raise ValueError("the card's key is neither EC nor RSA")
                    verified, detail = True, detail + "signature verified with the card's certificate\n"
                except Exception as exc:  # any failure to verify is the check's answer, not a crash
                    detail += f"signature does not verify: {type(exc).__name__}\n"
            steps.append(("pkcs11-tool --login --sign", verified, detail))
        finally:
            virtual.remove()
    return steps


def _run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=TOOL_TIMEOUT_SECONDS, check=False)


@click.group()
def card() -> None:
    """Test e-ID cards in a virtual reader (pcscd + vpcd + the card emulator)."""


@card.command("check")
@click.argument("card_file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
def check_command(card_file: Path) -> None:
    """Have OpenSC's PIV driver read CARD_FILE and sign with it, through a real pcscd."""
    with tempfile.TemporaryDirectory(prefix="tinget-card-") as work:
        try:
            steps = opensc_check(card_file, Path(work))
        except PcscdUnavailable as exc:
            raise click.ClickException(str(exc)) from None
    for name, passed, output in steps:
        click.echo(f"{'ok  ' if passed else 'FEL '} {name}")
        if not passed:
            click.echo(output.strip())
    if not all(passed for _name, passed, _output in steps):
        raise SystemExit(1)


@card.command("insert")
@click.argument("card_file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
def insert_command(card_file: Path) -> None:
    """Keep CARD_FILE in a virtual reader until Ctrl-C; prints the environment other PC/SC programs need."""
    from kiosk.card.emulator import VirtualCard
    from kiosk.card.model import model_from_file
    from protocol.testcard import read_test_card

    with tempfile.TemporaryDirectory(prefix="tinget-card-") as work, virtual_reader(Path(work)) as reader:
        virtual = VirtualCard(model_from_file(read_test_card(card_file)), reader.pcscd.reader_port(0))
        virtual.insert()
        click.echo(f"Kortet sitter i läsaren {reader.pcscd.reader_name(0)!r}. Prova till exempel:")
        click.echo(f"  PCSCLITE_CSOCK_NAME={reader.pcscd.socket_path} pkcs15-tool --list-certificates")
        click.echo("Ctrl-C tar ut kortet och stoppar läsaren.")
        try:
            signal.sigwait({signal.SIGINT, signal.SIGTERM})
        except KeyboardInterrupt:
            pass
        finally:
            virtual.remove()
