"""Page images of a cached PDF for the touch viewer, rendered with PDFium (pypdfium2), and the QR code."""

from __future__ import annotations

import base64
import io
from pathlib import Path

ZOOMS = (1.0, 1.5, 2.0, 3.0)  # the viewer's steps; 1.0 fits an A4 page's width on a 1280 px screen
BASE_SCALE = 1.6  # PDF points to pixels at zoom 1


class PageError(Exception):
    """The page cannot be shown (the file is not a readable PDF, or there is no such page)."""


def page_count(path: Path) -> int:
    """How many pages the PDF has."""
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(path)
    except pdfium.PdfiumError as exc:
        raise PageError(f"the PDF cannot be opened: {exc}") from None
    try:
        return len(document)
    finally:
        document.close()


def render_png(path: Path, number: int, zoom: float) -> bytes:
    """Page ``number`` (1-based) as a PNG at ``zoom`` (one of `ZOOMS`)."""
    import pypdfium2 as pdfium

    if zoom not in ZOOMS:
        raise PageError("no such zoom")
    try:
        document = pdfium.PdfDocument(path)
    except pdfium.PdfiumError as exc:
        raise PageError(f"the PDF cannot be opened: {exc}") from None
    try:
        if not 1 <= number <= len(document):
            raise PageError("no such page")
        page = document[number - 1]
        image = page.render(scale=BASE_SCALE * zoom).to_pil()
        out = io.BytesIO()
        image.save(out, format="PNG", optimize=False)
        page.close()
        return out.getvalue()
    finally:
        document.close()


def qr_data_uri(text: str) -> str:
    """A QR code for ``text`` as an SVG data URI (the kiosk's CSP allows data: images)."""
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
