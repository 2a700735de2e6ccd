"""Helpers for the registry tests: a file store, PDFs, and a case with documents registered as a registrar would."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

from sqlalchemy.orm import Session

from hub.registry import service
from hub.registry.store import FileStore
from tinget.samplepdf import make_pdf

PUBLIC_URL = "https://tinget.example.se"
MAX_BYTES = 10 * 1024 * 1024


def encrypted_pdf(data: bytes, password: str = "hemligt") -> bytes:  # noqa: S107 - a test file's lock
    """``data`` (a PDF) encrypted with a user password, as a locked export from an office suite."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(password, algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def register_with_pdf(
    session: Session,
    store: FileStore,
    lines: list[str],
    *,
    title: str = "Beslut om detaljplan",
    board: str = "KS",
    secrecy: str = "public",
    osl: str | None = None,
    publish: bool = True,
    kind: str = "decision",
    personal_data: bool = False,
    case_title: str = "Detaljplan för Föllinge centrum",
    day: dt.date = dt.date(2026, 3, 4),
) -> tuple[int, str]:
    """A case with one PDF document (published unless ``publish`` is False): (document id, case number)."""
    case = service.register_case(session, board=board, title=case_title, opened_on=day, actor="test")
    upload = store.put_bytes(make_pdf([lines]), "beslut.pdf", MAX_BYTES)
    fields = service.DocumentFields(
        kind=kind, title=title, document_date=day, secrecy=secrecy, osl_paragraph=osl, personal_data=personal_data
    )
    document = service.add_document(session, case, fields, actor="test", upload=upload, file_name="beslut.pdf")
    if publish:
        service.set_published(session, document.id, True, actor="test", public_url=PUBLIC_URL)
    return document.id, case.number


def store_in(tmp_path: Path) -> FileStore:
    """A file store in the test's folder."""
    return FileStore(tmp_path / "records")
