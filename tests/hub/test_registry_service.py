"""The registry at the hub: case numbers, documents with files, publication, and search on both databases."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from hub.audit import log as audit_log
from hub.db import make_engine, make_session_factory, unit_of_work
from hub.migrate import upgrade
from hub.registry import catalogue, search, service
from hub.registry.models import CatalogueChunk, Document
from hub.registry.rules import RegistryError
from hub.sets.publication import find_latest
from protocol import codec
from protocol import search as analysis
from protocol.search import parse_query
from tests.hub.helpers import fresh_sessions
from tests.hub.registry_helpers import MAX_BYTES, PUBLIC_URL, encrypted_pdf, register_with_pdf, store_in
from tinget.samplepdf import make_pdf


@pytest.fixture
def sessions(hub_db_url: str) -> sessionmaker[Session]:
    engine, factory = fresh_sessions(hub_db_url)
    yield factory
    engine.dispose()


def found(sessions: sessionmaker[Session], text: str, **filters: object) -> list[int]:
    with unit_of_work(sessions, write=False) as session:
        return search.find(session, parse_query(text), search.Filters(**filters)).ids


def test_case_numbers_run_per_board_and_year_and_are_never_reused(sessions: sessionmaker[Session]) -> None:
    with unit_of_work(sessions) as session:
        first = service.register_case(session, board="ks", title="A", opened_on=dt.date(2026, 1, 5), actor="t")
        second = service.register_case(session, board="KS", title="B", opened_on=dt.date(2026, 2, 5), actor="t")
        other = service.register_case(session, board="BN", title="C", opened_on=dt.date(2026, 2, 5), actor="t")
        imported = service.register_case(
            session, board="KS", title="D", opened_on=dt.date(2026, 2, 5), actor="t", number="KS 2026/40"
        )
        after = service.register_case(session, board="KS", title="E", opened_on=dt.date(2026, 3, 1), actor="t")
        next_year = service.register_case(session, board="KS", title="F", opened_on=dt.date(2027, 1, 2), actor="t")
    assert [c.number for c in (first, second, other, imported, after, next_year)] == [
        "KS 2026/1",
        "KS 2026/2",
        "BN 2026/1",
        "KS 2026/40",
        "KS 2026/41",
        "KS 2027/1",
    ]


def test_a_duplicate_case_number_is_refused_and_nothing_is_written(sessions: sessionmaker[Session]) -> None:
    with unit_of_work(sessions) as session:
        service.register_case(
            session, board="KS", title="A", opened_on=dt.date(2026, 1, 5), actor="t", number="KS 2026/7"
        )
    with pytest.raises(RegistryError, match="already registered") as caught, unit_of_work(sessions) as session:
        service.register_case(
            session, board="KS", title="B", opened_on=dt.date(2026, 1, 5), actor="t", number="KS 2026/7"
        )
    assert caught.value.code == "duplicate"
    with unit_of_work(sessions, write=False) as session:
        assert len(service.list_cases(session)) == 1


def test_a_published_pdf_is_found_by_a_stemmed_word_from_inside_it(sessions, tmp_path) -> None:
    store = store_in(tmp_path)
    with unit_of_work(sessions) as session:
        doc_id, number = register_with_pdf(session, store, ["Kommunstyrelsen beslutar om älgjakten i Föllinge."])
        hidden, _ = register_with_pdf(session, store, ["Älgjakten diskuterades."], publish=False)
    assert found(sessions, "älgjakt") == [doc_id]  # "älgjakten" in the PDF, "älgjakt" typed: one stem
    assert found(sessions, "ÄLGJAKTER") == [doc_id]
    assert found(sessions, "älg*") == [doc_id]
    assert found(sessions, '"beslutar om älgjakten"') == [doc_id]
    assert found(sessions, number) == [doc_id]
    assert found(sessions, "älgjakt", board="BN") == []
    assert found(sessions, "älgjakt", kind="decision", date_from=dt.date(2026, 1, 1)) == [doc_id]
    assert found(sessions, "älgjakt", date_to=dt.date(2025, 12, 31)) == []
    assert hidden not in found(sessions, "diskuterades")


@pytest.mark.parametrize(
    "hostile",
    ['"', "älgjakt AND OR NOT", "NEAR(älgjakt", "*", 'älgjakt" OR "x', "title:älgjakt", "^älg", "-- ; DROP", "()"],
)
def test_a_search_full_of_operators_and_quotes_is_read_as_words(sessions, tmp_path, hostile: str) -> None:
    with unit_of_work(sessions) as session:
        register_with_pdf(session, store_in(tmp_path), ["Älgjakten i Föllinge."])
    found(sessions, hostile)  # no syntax error on either database, whatever was typed


def test_a_prefix_finds_every_word_that_starts_with_it_and_nothing_else(sessions, tmp_path, monkeypatch) -> None:
    store = store_in(tmp_path)
    with unit_of_work(sessions) as session:
        permit, _ = register_with_pdf(session, store, ["Bygglovet för garaget beviljas."])
        application, _ = register_with_pdf(session, store, ["Bygglovsansökan är komplett."])
        board, _ = register_with_pdf(session, store, ["Byggnadsnämnden har yttrat sig."])
        register_with_pdf(session, store, ["Vägföreningen har inga synpunkter."])
    expected = {
        "bygglov*": [permit, application],
        "bygg*": [permit, application, board],
        "byggnads*": [board],  # stemmed as typed: "byggnads" → "byggnad"
        "BYGGLOV* garaget": [permit],
        "bygglovsans* byggnadsn*": [],
        "byggx*": [],
    }
    assert {raw: sorted(found(sessions, raw)) for raw in expected} == expected
    # FTS5's own prefix search (no expansion) finds the same; the order on a page may differ (bm25 per term)
    monkeypatch.setattr(analysis, "MAX_EXPANSION", 0)
    assert {raw: sorted(found(sessions, raw)) for raw in expected} == expected
    monkeypatch.undo()
    with unit_of_work(sessions) as session:
        service.set_published(session, permit, False, actor="test", public_url=PUBLIC_URL)
    assert found(sessions, "bygglov*") == [application]  # its terms stay listed; they only find what is indexed


@pytest.mark.parametrize(
    ("typed", "finds"),
    [
        ('älg*"', True),
        ("(älg*)", True),
        ("älg** ^", True),
        ("NOT älg*", False),  # "not" is a word, not an operator: no document holds it
        ('"älg*"', False),  # quoted, the star is a separator: the word "älg", which no document holds
        ('"älg*', False),
    ],
)
def test_a_prefix_among_operators_and_quotes_gives_a_clear_result(sessions, tmp_path, typed: str, finds: bool) -> None:
    with unit_of_work(sessions) as session:
        doc_id, _ = register_with_pdf(session, store_in(tmp_path), ["Älgjakten i Föllinge."])
    assert found(sessions, typed) == ([doc_id] if finds else [])


def test_migration_0008_lists_the_terms_of_a_search_index_built_before_it(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'hub.db'}")
    upgrade(engine, "0006")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO registry_search (rowid, title, meta, body, board, kind, doc_date) "
                "VALUES (1, 'bygglov', 'ks 2026 1', 'bygglovsansökan komplet', 'KS', 'decision', '2026-03-04')"
            )
        )
    upgrade(engine)
    with engine.connect() as conn:
        terms = list(conn.execute(text("SELECT term FROM registry_search_terms ORDER BY term")).scalars())
    assert terms == ["1", "2026", "bygglov", "bygglovsansökan", "komplet", "ks"]
    with unit_of_work(make_session_factory(engine), write=False) as session:
        query = parse_query("kompl*")
        run = lambda sql, values: list(session.scalars(text(sql), values))  # noqa: E731
        assert analysis.prefix_expansions(query, "registry_search_terms", run) == {"kompl": ("komplet",)}
        assert search.find(session, query, search.Filters()).ids == [1]
    engine.dispose()


def test_nothing_of_a_secret_document_but_its_number_type_and_date_is_searchable_or_sent_to_kiosks(
    sessions, tmp_path
) -> None:
    """Secret documents are listed (so they can be asked for) but their title and text never leave the hub."""
    store = store_in(tmp_path)
    with unit_of_work(sessions) as session:
        doc_id, number = register_with_pdf(
            session,
            store,
            ["Omsorgsutredning om Kalle Anka"],
            title="Utredning om Kalle Anka",
            secrecy="secret",
            osl="26 kap. 1 §",
        )
    assert found(sessions, "Kalle") == []
    assert found(sessions, "omsorgsutredning") == []
    assert found(sessions, number) == [doc_id]
    with unit_of_work(sessions, write=False) as session:
        bodies = b"".join(session.scalars(select(CatalogueChunk.body)))
        manifest = codec.decode(find_latest(session, "catalogue").body, max_size=10**8)["content"]
    assert b"Kalle" not in bodies and b"Omsorg" not in bodies
    assert number.encode() in bodies
    assert len(manifest["chunks"]) == 1 and manifest["public_url"] == PUBLIC_URL


def test_a_secret_document_must_name_its_osl_paragraph(sessions, tmp_path) -> None:
    with pytest.raises(RegistryError) as caught, unit_of_work(sessions) as session:
        register_with_pdf(session, store_in(tmp_path), ["x"], secrecy="secret", osl=None)
    assert caught.value.code == "osl"


def test_unpublishing_takes_a_document_out_of_search_and_the_catalogue_and_is_audited(sessions, tmp_path) -> None:
    with unit_of_work(sessions) as session:
        doc_id, _ = register_with_pdf(session, store_in(tmp_path), ["Snöskoterleden i Hotagen."])
    with unit_of_work(sessions) as session:
        service.set_published(session, doc_id, False, actor="registrar", public_url=PUBLIC_URL)
    assert found(sessions, "snöskoterleden") == []
    with unit_of_work(sessions, write=False) as session:
        assert session.scalars(select(CatalogueChunk)).all() == []
        actions = [e.action for e in audit_log.latest_entries(session, page=1, per_page=20)]
    assert actions[:2] == ["set.published", "registry.document_unpublished"]
    assert "registry.document_published" in actions


def test_an_edit_is_audited_with_the_fields_that_changed_and_reindexed(sessions, tmp_path) -> None:
    with unit_of_work(sessions) as session:
        doc_id, _ = register_with_pdf(session, store_in(tmp_path), ["Text."], title="Gammal rubrik om vägar")
    with unit_of_work(sessions) as session:
        fields = service.DocumentFields(kind="decision", title="Ny rubrik om broar", document_date=dt.date(2026, 3, 4))
        service.update_document(session, doc_id, fields, actor="registrar", public_url=PUBLIC_URL)
        entry = next(
            e for e in audit_log.latest_entries(session, page=1, per_page=10) if e.action == "registry.document_changed"
        )
    assert entry.details["fields"] == ["title"]
    assert found(sessions, "broar") == [doc_id]
    assert found(sessions, "vägar") == []


def test_a_very_common_word_ranks_only_the_newest_window_and_says_there_are_more(sessions, tmp_path, monkeypatch):
    from protocol import search as analysis

    monkeypatch.setattr(analysis, "WINDOW", 3)
    store = store_in(tmp_path)
    with unit_of_work(sessions) as session:
        ids = [register_with_pdf(session, store, [f"Kommunen nummer {i}."])[0] for i in range(5)]
    with unit_of_work(sessions, write=False) as session:
        result = search.find(session, parse_query("kommunen"), search.Filters())
    assert sorted(result.ids) == sorted(ids[-3:])
    assert result.total == 3 and result.more


def _zip(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as package:
        for name, data in entries.items():
            package.writestr(name, data)
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "data", "code"),
    [
        ("beslut.pdf", b"%PDF-1.4\n1 0 obj garbage", "corrupt"),
        ("beslut.pdf", encrypted_pdf(make_pdf([["hemlig"]])), "encrypted"),
        ("beslut.pdf", _zip({"word/document.xml": b"<x/>"}), "type_lies"),
        ("beslut.docx", make_pdf([["x"]]), "type_lies"),
        ("beslut.txt", b"\x00\x01\x02binary", "type_lies"),
        ("beslut.exe", b"MZ", "type"),
        ("tom.pdf", b"", "empty"),
    ],
)
def test_a_bad_file_is_refused_with_a_clear_reason_and_nothing_is_stored(tmp_path, name, data, code) -> None:
    store = store_in(tmp_path)
    with pytest.raises(RegistryError) as caught:
        store.put_bytes(data, name, MAX_BYTES)
    assert caught.value.code == code
    assert [p for p in store.root.rglob("*") if p.is_file()] == []


def test_a_file_over_the_limit_is_refused_before_it_is_kept(tmp_path) -> None:
    store = store_in(tmp_path)
    with pytest.raises(RegistryError, match="larger than 1 MB"):
        store.put_bytes(make_pdf([["x"]]) + b" " * (1024 * 1024), "stor.pdf", 1024 * 1024)
    assert [p for p in store.root.rglob("*") if p.is_file()] == []


def test_word_and_opendocument_files_give_their_text(tmp_path) -> None:
    import docx
    from odf import text as odf_text
    from odf.opendocument import OpenDocumentText

    word = docx.Document()
    word.add_paragraph("Remissvar om kollektivtrafiken i Offerdal")
    out = io.BytesIO()
    word.save(out)
    assert "kollektivtrafiken" in store_in(tmp_path).put_bytes(out.getvalue(), "remiss.docx", MAX_BYTES).text
    odt = OpenDocumentText()
    odt.text.addElement(odf_text.P(text="Yttrande om skolskjutsar i Aspås"))
    out = io.BytesIO()
    odt.write(out)
    assert "skolskjutsar" in store_in(tmp_path).put_bytes(out.getvalue(), "yttrande.odt", MAX_BYTES).text


def test_the_catalogue_is_split_in_chunks_by_document_id(sessions, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(catalogue, "CHUNK_SIZE", 2)
    store = store_in(tmp_path)
    with unit_of_work(sessions) as session:
        for i in range(5):
            register_with_pdf(session, store, [f"Dokument {i}"])
        chunks = session.execute(select(CatalogueChunk.number, CatalogueChunk.body)).all()
        assert len(session.scalars(select(Document)).all()) == 5
    numbers = sorted(number for number, _ in chunks)
    assert numbers == [0, 1, 2]
    counts = {n: len(codec.decode(body, max_size=10**8)["documents"]) for n, body in chunks}
    assert counts == {0: 1, 1: 2, 2: 2}
