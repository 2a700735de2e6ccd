"""Files in the registry: checked for what they really are, text extracted, kept once by SHA-256 on disk.

A file is accepted only when its content is what its name says (a ``.pdf`` must start like a PDF, a ``.docx``
must be a Word package, …): a file whose type lies is refused, and so are encrypted and unreadable PDFs, each
with a message a registrar understands. Nothing is stored before every check has passed, and the bytes are
written to a temporary file and renamed into place, so a failed upload leaves nothing half-written.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO

from hub.registry.rules import RegistryError
from protocol.search import clean_text

log = logging.getLogger(__name__)

MAX_TEXT_CHARS = 2_000_000  # text kept per document; a longer one is cut (and searched as far as kept)
MEDIA_TYPES = {
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".txt": "text/plain",
}
_NAMES = {".pdf": "PDF", ".docx": "Word (.docx)", ".odt": "OpenDocument (.odt)", ".txt": "text"}
_CHUNK = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Extracted:
    """What the registry keeps of a file besides its bytes."""

    sha256: str
    size: int
    media_type: str
    text: str
    page_count: int | None


def suffix_of(file_name: str) -> str:
    """The file name's extension in lower case (``.pdf``)."""
    return Path(file_name).suffix.lower()


def sniff(head: bytes, path: Path) -> str | None:
    """The extension the content really has (``.pdf``, ``.docx``, ``.odt``, ``.txt``), or None."""
    if head.lstrip(b"\xef\xbb\xbf \r\n\t")[:5] == b"%PDF-":
        return ".pdf"
    if head[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(path) as package:
                names = set(package.namelist())
                if "word/document.xml" in names:
                    return ".docx"
                if "mimetype" in names and package.read("mimetype").strip() == MEDIA_TYPES[".odt"].encode():
                    return ".odt"
        except (zipfile.BadZipFile, OSError, KeyError):
            return None
        return None
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # a multi-byte character cut at the end of the head is fine
            return None
    return ".txt" if b"\x00" not in head else None


def _pdf_text(path: Path) -> tuple[str, int]:
    from pypdf import PasswordType, PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(path)
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")
            except (PdfReadError, NotImplementedError):
                opened = PasswordType.NOT_DECRYPTED
            if not opened:
                raise RegistryError("encrypted", "the PDF is encrypted with a password; register an unlocked copy")
        pages = [page.extract_text() or "" for page in reader.pages]
    except RegistryError:
        raise
    except Exception as exc:  # pypdf raises many kinds on a damaged file; each means the same to a registrar
        log.info("unreadable PDF refused", extra={"error": type(exc).__name__})
        raise RegistryError("corrupt", "the PDF is damaged and cannot be read; register an undamaged copy") from None
    return "\n\n".join(pages), len(pages)


def _docx_text(path: Path) -> str:
    import docx

    try:
        document = docx.Document(str(path))
    except Exception:  # python-docx raises several kinds for a broken package
        raise RegistryError("corrupt", "the Word file is damaged and cannot be read") from None
    return "\n".join(p.text for p in document.paragraphs)


def _odt_text(path: Path) -> str:
    from odf import teletype, text
    from odf.opendocument import load

    try:
        document = load(str(path))
    except Exception:  # odfpy raises several kinds for a broken package
        raise RegistryError("corrupt", "the OpenDocument file is damaged and cannot be read") from None
    return "\n".join(teletype.extractText(p) for p in document.getElementsByType(text.P))


def extract_text(path: Path, kind: str) -> tuple[str, int | None]:
    """The text of a file of a sniffed kind, and its page count (PDF only)."""
    if kind == ".pdf":
        raw, pages = _pdf_text(path)
        return clean_text(raw, MAX_TEXT_CHARS), pages
    if kind == ".docx":
        return clean_text(_docx_text(path), MAX_TEXT_CHARS), None
    if kind == ".odt":
        return clean_text(_odt_text(path), MAX_TEXT_CHARS), None
    return clean_text(path.read_bytes().decode("utf-8", "replace"), MAX_TEXT_CHARS), None


class FileStore:
    """The files on disk: ``<root>/<sha[:2]>/<sha>``, written by rename so a file is whole or absent."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        """Where the file with this hash lives."""
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            raise ValueError("not a SHA-256")
        return self.root / sha256[:2] / sha256

    def exists(self, sha256: str) -> bool:
        """Whether the bytes are here."""
        return self.path(sha256).is_file()

    @contextmanager
    def receive(self, stream: IO[bytes], file_name: str, max_bytes: int) -> Iterator[Extracted]:
        """Check and extract an uploaded file; the bytes are kept only if the ``with`` block ends normally."""
        expected = suffix_of(file_name)
        if expected not in MEDIA_TYPES:
            raise RegistryError("type", "only PDF, Word (.docx), OpenDocument (.odt) and text files can be registered")
        self.root.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self.root, prefix=".upload-")
        temp = Path(name)
        try:
            digest, size = hashlib.sha256(), 0
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(_CHUNK):
                    size += len(chunk)
                    if size > max_bytes:
                        raise RegistryError("size", f"the file is larger than {max_bytes // (1024 * 1024)} MB")
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            if size == 0:
                raise RegistryError("empty", "the file is empty")
            with temp.open("rb") as check:
                head = check.read(4096)
            actual = sniff(head, temp)
            if actual != expected:
                what = _NAMES.get(actual or "", "an unknown or unsupported kind of file")
                raise RegistryError("type_lies", f"the file is called {expected} but is really {what}")
            text, pages = extract_text(temp, actual)
            sha256 = digest.hexdigest()
            yield Extracted(sha256, size, MEDIA_TYPES[actual], text, pages)
            target = self.path(sha256)
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.exists():
                os.replace(temp, target)
        finally:
            temp.unlink(missing_ok=True)

    def open(self, sha256: str) -> BinaryIO:
        """The stored bytes (raises FileNotFoundError when missing)."""
        return self.path(sha256).open("rb")

    def put_bytes(self, data: bytes, file_name: str, max_bytes: int) -> Extracted:
        """`receive` for bytes in memory (import, demo seed)."""
        with self.receive(io.BytesIO(data), file_name, max_bytes) as extracted:
            return extracted

    def remove(self, sha256: str) -> None:
        """Delete the bytes (weeding), if present."""
        self.path(sha256).unlink(missing_ok=True)

    def copy_out(self, sha256: str, target: BinaryIO) -> None:
        """Write the stored bytes to ``target``."""
        with self.open(sha256) as source:
            shutil.copyfileobj(source, target, _CHUNK)
