"""Searching the kiosk's own catalogue: prefixes expanded over its terms table, the date range, migration 0006."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text

from kiosk.records import catalogue, lookup
from kiosk.settings import KioskSettings
from kiosk.store import make_engine, make_session_factory, upgrade
from protocol import search as analysis


def document(doc_id: int, title: str, text_: str, *, date: str = "2026-03-04", board: str = "BN") -> dict[str, Any]:
    """A public catalogue document as a chunk carries it."""
    return {
        "id": doc_id,
        "number": f"{board} 2026/{doc_id}-1",
        "case_number": f"{board} 2026/{doc_id}",
        "case_title": title,
        "board": board,
        "kind": "decision",
        "title": title,
        "date": date,
        "counterpart": None,
        "secrecy": "public",
        "osl": None,
        "personal_data": False,
        "text": text_,
        "file": None,
    }


DOCUMENTS = [
    document(1, "Bygglov för garage", "Bygglovet beviljas.", date="2025-11-20"),
    document(2, "Ansökan om bygglov", "Bygglovsansökan är komplett.", date="2026-02-01"),
    document(3, "Yttrande", "Byggnadsnämnden har yttrat sig.", date="2026-03-04", board="KS"),
    document(4, "Vägförening", "Vägföreningen har inga synpunkter.", date="2026-03-05"),
]


@pytest.fixture
def engine(kiosk_settings: KioskSettings) -> Iterator[Engine]:
    engine = make_engine(kiosk_settings.database)
    upgrade(engine, "ange")
    with make_session_factory(engine).begin() as session:
        catalogue.store_chunk(session, 0, "0" * 64, DOCUMENTS)
    yield engine
    engine.dispose()


def ids(engine: Engine, raw: str, **filters: Any) -> list[int]:
    with make_session_factory(engine)() as session:
        return sorted(hit.document.id for hit in lookup.search(session, raw, **filters).hits)


def test_a_prefix_finds_every_word_that_starts_with_it_expanded_or_not(engine, monkeypatch) -> None:
    expected = {"bygglov*": [1, 2], "bygg*": [1, 2, 3], "bygglovsans*": [2], "byggx*": [], '"bygglov*"': [1, 2]}
    assert {raw: ids(engine, raw) for raw in expected} == expected
    monkeypatch.setattr(analysis, "MAX_EXPANSION", 0)  # FTS5's own prefix search finds the same
    assert {raw: ids(engine, raw) for raw in expected} == expected


def test_suggestions_while_typing_expand_the_last_word(engine) -> None:
    with make_session_factory(engine)() as session:
        assert sorted(lookup.suggestions(session, "byggl")) == ["Ansökan om bygglov", "Bygglov för garage"]
        assert lookup.suggestions(session, "vägf") == ["Vägförening"]


def test_a_chunk_stored_again_keeps_its_terms_listed_and_finds_only_what_it_now_holds(engine) -> None:
    with make_session_factory(engine).begin() as session:
        catalogue.store_chunk(session, 0, "1" * 64, DOCUMENTS[1:])
    assert ids(engine, "bygglov*") == [2]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM catalogue_search_terms WHERE term = 'garag'")).scalar() == 1


def test_migration_0006_lists_the_terms_of_a_catalogue_indexed_before_it(kiosk_settings: KioskSettings) -> None:
    from alembic import command

    from kiosk.store import _alembic_config

    engine = make_engine(kiosk_settings.database)
    with engine.begin() as connection:
        command.upgrade(_alembic_config(connection), "0005")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO catalogue_search (rowid, title, meta, body, board, kind, doc_date) "
                "VALUES (1, 'bygglov', 'bn', 'bygglovsansökan komplet', 'BN', 'decision', '2026-03-04')"
            )
        )
    upgrade(engine, "ange")
    with engine.connect() as conn:
        terms = list(conn.execute(text("SELECT term FROM catalogue_search_terms ORDER BY term")).scalars())
    engine.dispose()
    assert terms == ["bn", "bygglov", "bygglovsansökan", "komplet"]


def test_a_date_range_narrows_a_search_to_documents_dated_within_it_inclusive(engine) -> None:
    assert ids(engine, "bygg*", date_from=dt.date(2026, 1, 1)) == [2, 3]
    assert ids(engine, "bygg*", date_to=dt.date(2026, 2, 1)) == [1, 2]
    assert ids(engine, "bygg*", date_from=dt.date(2026, 2, 1), date_to=dt.date(2026, 2, 1)) == [2]
    assert ids(engine, "bygg*", date_from=dt.date(2026, 3, 5)) == []


def test_the_search_screen_offers_a_date_range_and_keeps_it_on_the_next_page(app, client) -> None:
    from kiosk.web import runtime

    with app.app_context(), runtime().sessions.begin() as session:
        catalogue.store_chunk(
            session, 0, "0" * 64, [document(i, "Bygglov", "Bygglovet beviljas.") for i in range(1, 13)]
        )
    page = client.get("/documents?q=bygglov&from=2026-01-01&to=2026-12-31").get_data(as_text=True)
    assert 'name="from" type="date" value="2026-01-01"' in page and 'name="to" type="date" value="2026-12-31"' in page
    assert "from=2026-01-01" in page and "to=2026-12-31" in page and "page=2" in page  # the pager keeps the range
    empty = client.get("/documents?q=bygglov&from=2027-01-01").get_data(as_text=True)
    assert "Ingen handling matchar" in empty  # not "0 matches": the screen offers to ask for the document
    ignored = client.get("/documents?q=bygglov&from=not-a-date").get_data(as_text=True)
    assert 'name="from" type="date" value=""' in ignored and 'href="/documents/12"' in ignored
