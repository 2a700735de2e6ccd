"""``tinget hub registry …``: import an existing registry export, list what is due for weeding, weed it.

hub/cli.py imports this module on its last lines, so the helpers it uses are already defined.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from hub.cli import EXIT_BROKEN, _cli_actor, _fail, _ready_engine, _settings, config_option, hub, plain_errors


@hub.group()
def registry() -> None:
    """The public records registry (diarium): import, retention."""


@registry.command("import")
@click.argument("source", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option(
    "--files",
    "files",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    default=None,
    help="Folder with the files the rows name (default: the source's folder).",
)
@click.option(
    "--report",
    "report_file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write every rejected row with its reason here (default: SOURCE.rejected.txt).",
)
@config_option
@plain_errors
def registry_import(source: Path, files: Path | None, report_file: Path | None, config_path: Path | None) -> None:
    """Import SOURCE (CSV or JSON, one row per document); run it again to resume after an interruption."""
    settings = _settings(config_path)
    from hub.db import make_session_factory
    from hub.registry.importer import ImportError_, read_rows, run_import
    from hub.registry.store import FileStore

    try:
        total = len(read_rows(source))
    except ImportError_ as exc:
        _fail(f"cannot import {source.name}: {exc}", EXIT_BROKEN)
        return
    engine = _ready_engine(settings)
    try:
        with click.progressbar(length=total, label=f"Importerar {source.name}", show_pos=True) as bar:
            report = run_import(
                make_session_factory(engine),
                source,
                files or source.parent,
                FileStore(settings.files_dir),
                actor=_cli_actor(),
                public_url=settings.public_url,
                max_bytes=settings.registry_max_upload_bytes,
                progress=bar.update,
            )
    finally:
        engine.dispose()
    rejected = report.rejected
    target = report_file or source.with_name(source.name + ".rejected.txt")
    if rejected:
        with target.open("a", encoding="utf-8") as out:
            for item in rejected:
                out.write(f"rad {item.row}: {item.reason}\n")
        for item in rejected:
            click.echo(f"  rad {item.row}: {item.reason}", err=True)
    if report.skipped:
        click.echo(f"{report.skipped} rader var redan importerade (fortsatte efter dem).")
    click.echo(f"Importerade {report.imported} handlingar, avvisade {len(rejected)} rader av {report.total}.")
    if rejected:
        click.echo(f"De avvisade raderna och skälen finns i {target}.")


@registry.command("due")
@config_option
@plain_errors
def registry_due(config_path: Path | None) -> None:
    """List the documents whose retention period has ended (nothing is weeded)."""
    settings = _settings(config_path)
    from hub.db import make_session_factory, unit_of_work
    from hub.registry.retention import due_documents

    engine = _ready_engine(settings)
    try:
        with unit_of_work(make_session_factory(engine), write=False) as session:
            rows = [
                (d.id, f"{c.number}-{d.serial}", d.kind, d.document_date, ended)
                for d, c, ended in due_documents(session, dt.date.today())
            ]
    finally:
        engine.dispose()
    if not rows:
        click.echo("Inget är gallringsbart.")
        return
    for doc_id, number, kind, date, ended in rows:
        click.echo(f"{doc_id:>8}  {number:<20} {kind:<10} {date}  gallringsbar sedan {ended}")
    click.echo(f"{len(rows)} handlingar är gallringsbara. Gallra med: tinget hub registry weed ID … --reason …")


@registry.command("weed")
@click.argument("document_ids", nargs=-1, type=int, required=True)
@click.option("--reason", required=True, help="Why: the retention rule or decision (recorded).")
@config_option
@plain_errors
def registry_weed(document_ids: tuple[int, ...], reason: str, config_path: Path | None) -> None:
    """Weed the given documents (each must be due), recording what and why."""
    settings = _settings(config_path)
    from hub.db import make_session_factory, unit_of_work
    from hub.registry.retention import weed
    from hub.registry.rules import RegistryError
    from hub.registry.store import FileStore

    engine = _ready_engine(settings)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            orphans = weed(
                session,
                document_ids,
                reason=reason,
                actor=_cli_actor(),
                public_url=settings.public_url,
                today=dt.date.today(),
            )
    except RegistryError as exc:
        _fail(f"nothing was weeded: {exc}", EXIT_BROKEN)
        return
    finally:
        engine.dispose()
    store = FileStore(settings.files_dir)
    for sha256 in orphans:
        store.remove(sha256)
    click.echo(f"Gallrade {len(document_ids)} handlingar; förteckningen och granskningsloggen visar vad och varför.")
