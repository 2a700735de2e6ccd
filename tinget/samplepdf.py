"""A small, valid PDF with real text, written by hand: the demo's seed documents and the tests' fixtures.

Helvetica with WinAnsiEncoding covers Swedish (å, ä, ö); each page is a list of lines. pypdf reads the text
back, which is what the registry's extraction and the kiosk's viewer need.
"""

from __future__ import annotations

from collections.abc import Sequence


def _escape(line: str) -> bytes:
    raw = line.encode("cp1252", "replace")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def make_pdf(pages: Sequence[Sequence[str]], title: str = "") -> bytes:
    """A PDF of A4 pages, each showing its lines top to bottom in 12 pt Helvetica."""
    objects: list[bytes] = []
    page_ids = [4 + 2 * i for i in range(len(pages))]
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    kids = b" ".join(b"%d 0 R" % pid for pid in page_ids)
    objects.append(b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % len(pages))
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    for lines in pages:
        stream = b"BT /F1 12 Tf 15 TL 56 780 Td " + b" ".join(b"(" + _escape(x) + b") Tj T*" for x in lines) + b" ET"
        page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> "
        objects.append(page + b"/Contents %d 0 R >>" % (len(objects) + 2))
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    if title:
        objects.append(b"<< /Title (" + _escape(title) + b") >>")
    out = bytearray(b"%PDF-1.4\n%\xe5\xe4\xf6\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    info = b" /Info %d 0 R" % len(objects) if title else b""
    out += b"trailer\n<< /Size %d /Root 1 0 R" % (len(objects) + 1) + info + b" >>\nstartxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)
