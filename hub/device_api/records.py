"""The registry for kiosks: catalogue chunks and public files, each by its SHA-256 (the kiosk checks it).

``GET /device/v1/catalogue/<sha256>`` answers a chunk the current ``catalogue`` set names;
``GET /device/v1/files/<sha256>`` answers a file only while a published document may show it
(`hub.registry.rules.file_is_public`): a secret file never leaves the hub, whatever a device asks for.
"""

from __future__ import annotations

import logging
import re

from flask import Response, g, send_file
from sqlalchemy import select

from hub.db import unit_of_work
from hub.device_api.app import context, error
from hub.device_api.views import bp
from hub.registry.catalogue import find_chunk
from hub.registry.models import Document, StoredFile
from hub.registry.rules import file_is_public
from hub.registry.store import FileStore

log = logging.getLogger(__name__)
SHA256 = re.compile(r"[0-9a-f]{64}")


@bp.get("/catalogue/<sha256>")
def catalogue_chunk(sha256: str) -> Response:
    """One catalogue chunk's canonical bytes."""
    if not SHA256.fullmatch(sha256):
        return error(404, "no-such-chunk", "not a chunk hash")
    with unit_of_work(context().sessions, write=False) as session:
        body = find_chunk(session, sha256)
    if body is None:
        return error(404, "no-such-chunk", "that chunk is not published (any more); fetch the catalogue again")
    response = Response(body, mimetype="application/json")
    response.set_etag(sha256)
    return response


@bp.get("/files/<sha256>")
def public_file(sha256: str) -> Response:
    """A registered file, if a published document may show it."""
    if not SHA256.fullmatch(sha256):
        return error(404, "no-such-file", "not a file hash")
    with unit_of_work(context().sessions, write=False) as session:
        rows = session.execute(
            select(Document.secrecy, Document.personal_data, StoredFile.media_type)
            .join(StoredFile, StoredFile.sha256 == Document.file_sha256)
            .where(Document.file_sha256 == sha256, Document.published_at.is_not(None))
        ).all()
    public = [media for secrecy, personal, media in rows if file_is_public(secrecy, personal, True)]
    path = FileStore(context().settings.files_dir).path(sha256)
    if not public or not path.is_file():
        return error(404, "no-such-file", "no published document shows that file")
    log.info("file served", extra={"device_id": g.device_id, "sha256": sha256[:16]})
    return send_file(path, mimetype=public[0], etag=sha256, conditional=True)
