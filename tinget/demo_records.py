"""The demo's public records: a few cases with small generated PDFs, published, and a notice, made once.

So a newcomer who opens "Sök handlingar" at a demo kiosk finds something, and sees what a registrar's work
looks like at the hub.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from tinget.samplepdf import make_pdf

SEED_CASES = (
    (
        "KS",
        "Detaljplan för Föllinge centrum",
        "decision",
        "Beslut om samråd för detaljplan",
        [
            "Kommunstyrelsen beslutar att detaljplanen för Föllinge centrum",
            "ska skickas ut på samråd. Planen gör det möjligt att bygga",
            "bostäder och en ny mötesplats vid skolan.",
        ],
    ),
    (
        "BN",
        "Bygglov för förskola i Änge",
        "decision",
        "Bygglov för tillbyggnad av förskolan",
        [
            "Byggnadsnämnden beviljar bygglov för tillbyggnad av förskolan",
            "Solstrålen i Änge. Tillbyggnaden ger plats för två nya avdelningar.",
        ],
    ),
    (
        "KF",
        "Sammanträde med kommunfullmäktige",
        "minutes",
        "Protokoll från kommunfullmäktige",
        [
            "Kommunfullmäktige sammanträdde i Krokoms kommunhus.",
            "Fullmäktige antog budgeten och beslutade om ny snöröjningsplan",
            "för vägarna mellan Föllinge och Änge.",
        ],
    ),
)


def seed_registry(hub_config: Path) -> int:
    """Register and publish the demo cases unless the registry already has cases; returns how many were made."""
    from sqlalchemy import select

    from hub.db import make_engine, make_session_factory, unit_of_work
    from hub.registry import notices, service
    from hub.registry.models import Case
    from hub.registry.store import FileStore
    from hub.settings import load_hub_settings

    settings = load_hub_settings(hub_config)
    engine = make_engine(settings.database_url)
    store = FileStore(settings.files_dir)
    today = dt.date.today()
    made = 0
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            if session.scalar(select(Case.id).limit(1)) is not None:
                return 0
            first_document = None
            for board, case_title, kind, title, lines in SEED_CASES:
                case = service.register_case(session, board=board, title=case_title, opened_on=today, actor="demo")
                upload = store.put_bytes(make_pdf([lines], title=title), f"{board.lower()}.pdf", 10 * 1024 * 1024)
                fields = service.DocumentFields(kind=kind, title=title, document_date=today, retention_years=None)
                document = service.add_document(
                    session, case, fields, actor="demo", upload=upload, file_name="demo.pdf"
                )
                service.set_published(session, document.id, True, actor="demo", public_url=settings.public_url)
                first_document = first_document or document.id
                made += 1
            notices.post_notice(
                session,
                title="Protokoll från kommunfullmäktige är justerat",
                body="Protokollet är justerat och anslaget. Beslut kan överklagas inom tre veckor från anslagsdagen.",
                posted_on=today,
                takedown_on=today + dt.timedelta(days=21),
                actor="demo",
                public_url=settings.public_url,
                document_id=first_document,
            )
    finally:
        engine.dispose()
    return made
