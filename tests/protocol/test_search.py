"""How a resident's search becomes an FTS5 expression, prefixes expanded over the indexed terms."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from protocol import search

TERMS = ["byggnad", "byggnadsnämnd", "bygglov", "bygglovsansökan", "byråkrati", "kommun"]


def lookup(sql: str, params: Mapping[str, object]) -> list[str]:
    """The terms table as a list: the range query `prefix_expansions` runs, answered in Python."""
    low, high, cap = str(params["low"]), str(params["high"]), int(str(params["cap"]))
    assert "FROM search_terms" in sql
    return sorted(t for t in TERMS if low <= t < high)[:cap]


def expression(raw: str) -> str | None:
    query = search.parse_query(raw)
    return search.fts5_expression(query, search.prefix_expansions(query, "search_terms", lookup))


def test_a_prefix_becomes_the_or_of_the_indexed_terms_it_covers() -> None:
    assert expression("bygglov*") == '("bygglov" OR "bygglovsansökan")'
    assert expression("byggn* kommun") == '("byggnad" OR "byggnadsnämnd") AND "kommun"'


def test_a_prefix_covering_one_term_is_that_term_and_one_covering_none_stays_a_prefix() -> None:
    assert expression("kommu*") == '"kommun"'
    assert expression("skol*") == '"skol"*'  # finds nothing either way, and costs nothing


def test_a_prefix_covering_more_than_the_cap_stays_fts5s_own_prefix_search(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search, "MAX_EXPANSION", 3)
    assert expression("by*") == '"by"*'
    assert expression("bygglov*") == '("bygglov" OR "bygglovsansökan")'


def test_without_expansions_a_prefix_is_fts5s_own_prefix_search() -> None:
    assert search.fts5_expression(search.parse_query("bygglov*")) == '"bygglov"*'


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ('bygglov*"', '("bygglov" OR "bygglovsansökan")'),
        ('"bygglov*"', '"bygglov"'),  # a quoted star is a separator: the word itself
        ("bygglov* OR kommun", '("bygglov" OR "bygglovsansökan") AND "or" AND "kommun"'),  # words, not syntax
        ("NEAR(bygglov*) kommun", '"near" AND ("bygglov" OR "bygglovsansökan") AND "kommun"'),
        ('kommu*" OR "x', '"kommun" AND "or" AND "x"'),
        ("**", None),
        ("b*", '"b"'),  # one letter is no prefix (it would match a quarter of the language): the word "b"
    ],
)
def test_operators_and_quotes_around_a_prefix_are_read_as_words(typed: str, expected: str | None) -> None:
    assert expression(typed) == expected


def test_the_terms_of_indexed_text_are_what_fts5_tokenises_it_into() -> None:
    assert search.index_terms(search.index_text("Bygglovet för byggnadsnämnden"), "a_b 12") == {
        "bygglov",
        "byggnadsnämnd",
        "a",
        "b",
        "12",
    }
