"""Text analysis for document search, shared by the hub and the kiosk so both find the same documents.

One analysis on both sides (docs/decisions.md D41): words are runs of letters and digits, lower-cased, Swedish
stop words dropped, each reduced by Snowball's Swedish stemmer (PyStemmer, the same algorithm PostgreSQL's
``swedish`` configuration uses). SQLite FTS5 indexes the *stems* (`index_text`), so its plain ``unicode61``
tokenizer needs no Swedish knowledge; PostgreSQL stems with its own copy of the algorithm (`tsquery_text`).

A resident's search string is never handed to a query language: `parse_query` reads it into plain terms (words,
``prefix*`` words, ``"quoted phrases"``, case numbers such as ``KS 2026/123``) and drops everything else, so FTS
operators, quotes and brackets in the input cannot change the query's meaning or raise a syntax error. The
FTS5 and tsquery strings are then built from those terms with every word quoted.

Snippets and highlights are made here too, from the original text, so a hub page and a kiosk screen mark the
same words.
"""

# ruff: noqa: S608 - the SQL is assembled from fixed fragments; every value is a bound parameter
from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

MAX_QUERY_CHARS = 200
MAX_TERMS = 8
MIN_PREFIX_CHARS = 2  # "a*" would match a quarter of the language

# Snowball's Swedish stop word list (the one PostgreSQL's `swedish` configuration ships as swedish.stop).
STOP_WORDS = frozenset(
    [
        "och",
        "det",
        "att",
        "i",
        "en",
        "jag",
        "hon",
        "som",
        "han",
        "på",
        "den",
        "med",
        "var",
        "sig",
        "för",
        "så",
        "till",
        "är",
        "men",
        "ett",
        "om",
        "hade",
        "de",
        "av",
        "icke",
        "mig",
        "du",
        "henne",
        "då",
        "sin",
        "nu",
        "har",
        "inte",
        "hans",
        "honom",
        "skulle",
        "hennes",
        "där",
        "min",
        "man",
        "ej",
        "vid",
        "kunde",
        "något",
        "från",
        "ut",
        "när",
        "efter",
        "upp",
        "vi",
        "dem",
        "vara",
        "vad",
        "över",
        "än",
        "dig",
        "kan",
        "sina",
        "här",
        "ha",
        "mot",
        "alla",
        "under",
        "någon",
        "eller",
        "allt",
        "mycket",
        "sedan",
        "ju",
        "denna",
        "själv",
        "detta",
        "åt",
        "utan",
        "varit",
        "hur",
        "ingen",
        "mitt",
        "ni",
        "bli",
        "blev",
        "oss",
        "din",
        "dessa",
        "några",
        "deras",
        "blir",
        "mina",
        "samma",
        "vilken",
        "er",
        "sådan",
        "vår",
        "blivit",
        "dess",
        "inom",
        "mellan",
        "sådant",
        "varför",
        "varje",
        "vilka",
        "ditt",
        "vem",
        "vilket",
        "sitta",
        "sådana",
        "vart",
        "dina",
        "vars",
        "vårt",
        "våra",
        "ert",
        "era",
        "vilkas",
    ]
)

_WORD = re.compile(r"\w+", re.UNICODE)
_CASE_NUMBER = re.compile(r"\b([A-ZÅÄÖa-zåäö]{1,6})\s+(\d{4})\s*/\s*(\d{1,6})\b")
_QUERY_TOKEN = re.compile(r'"([^"]*)"?|(\w+)(\*?)', re.UNICODE)


_local = threading.local()


def _stemmer() -> Any:
    # One stemmer per thread: a PyStemmer object keeps state between calls and is not safe to share between
    # the threads of a gunicorn gthread worker. Imported on first use, not at import time.
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        import Stemmer

        stemmer = _local.stemmer = Stemmer.Stemmer("swedish", 100_000)  # with its own cache of stems
    return stemmer


def words(text: str) -> list[str]:
    """The words of ``text``, lower-cased, in order (stop words included)."""
    return [w.lower() for w in _WORD.findall(text)]


def stem(word: str) -> str:
    """The Snowball Swedish stem of one lower-case word."""
    result: str = _stemmer().stemWord(word)
    return result


def stems(text: str) -> list[str]:
    """The stems of ``text``'s words in order, stop words left out."""
    kept = [w for w in words(text) if w not in STOP_WORDS]
    result: list[str] = _stemmer().stemWords(kept)
    return result


def index_text(text: str) -> str:
    """What FTS5 indexes for ``text``: its stems, separated by spaces."""
    return " ".join(stems(text))


def clean_text(text: str, limit: int | None = None) -> str:
    """Text as it may be stored and sent: NFC, no control characters but newlines, at most ``limit`` chars."""
    text = unicodedata.normalize("NFC", text)
    text = "".join(ch if ch in "\n\t" or unicodedata.category(ch)[0] != "C" else " " for ch in text)
    text = re.sub(r"[ \t]+", " ", text)
    text = re.sub(r"\n\s*\n\s*(\n\s*)+", "\n\n", text).strip()
    return text[:limit] if limit is not None else text


@dataclass(frozen=True, slots=True)
class Term:
    """One search term: a word, a ``prefix*`` or a phrase; ``words`` as typed (lower case), ``stems`` analysed."""

    kind: str  # "word", "prefix" or "phrase"
    words: tuple[str, ...]
    stems: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed search: text terms (all must match) and case numbers (``KS 2026/123``)."""

    terms: tuple[Term, ...] = ()
    case_numbers: tuple[str, ...] = ()
    text: str = ""
    notes: tuple[str, ...] = field(default=())  # what was dropped, for "we ignored …" hints

    @property
    def empty(self) -> bool:
        """Nothing to search for."""
        return not self.terms and not self.case_numbers

    def highlight_stems(self) -> tuple[frozenset[str], tuple[str, ...]]:
        """Stems to mark in text, and prefixes (a word whose stem starts with one is marked)."""
        whole = frozenset(s for t in self.terms if t.kind != "prefix" for s in t.stems)
        prefixes = tuple(s for t in self.terms if t.kind == "prefix" for s in t.stems)
        return whole, prefixes


def normalise_case_number(board: str, year: str, serial: str) -> str:
    """``KS 2026/123`` from its parts (board upper-case, no leading zeros)."""
    return f"{board.upper()} {int(year)}/{int(serial)}"


def parse_query(raw: str) -> Query:
    """Read what a person typed into terms; anything that is not a word, ``*`` or a quote is ignored."""
    text = unicodedata.normalize("NFC", raw or "")[:MAX_QUERY_CHARS]
    numbers = tuple(normalise_case_number(*m.groups()) for m in _CASE_NUMBER.finditer(text))
    rest = _CASE_NUMBER.sub(" ", text)
    terms: list[Term] = []
    notes: list[str] = []
    for match in _QUERY_TOKEN.finditer(rest):
        phrase, word, star = match.groups()
        if phrase is not None:
            typed = tuple(words(phrase))
            kept = [w for w in typed if w not in STOP_WORDS]
            if len(kept) == 1:
                terms.append(Term("word", typed, (stem(kept[0]),)))
            elif kept:
                terms.append(Term("phrase", typed, tuple(stem(w) for w in kept)))
            continue
        lower = word.lower()
        if star and len(lower) >= MIN_PREFIX_CHARS:
            terms.append(Term("prefix", (lower,), (stem(lower),)))
        elif lower in STOP_WORDS:
            notes.append(lower)
        else:
            terms.append(Term("word", (lower,), (stem(lower),)))
    unique = tuple(dict.fromkeys(terms))
    return Query(unique[:MAX_TERMS], numbers, text.strip(), tuple(notes))


def _fts_string(token: str) -> str:
    return '"' + token.replace('"', '""') + '"'


def fts5_expression(query: Query, expansions: Mapping[str, Sequence[str]] | None = None) -> str | None:
    """The FTS5 MATCH expression for ``query``'s text terms (None if it has none); every token is quoted.

    A prefix with an entry in ``expansions`` (`prefix_expansions`) becomes an OR of the indexed terms it covers,
    which matches the same documents as ``"prefix"*``; one without stays FTS5's own prefix search.
    """
    parts = []
    for term in query.terms:
        expanded = (expansions or {}).get(term.stems[0]) if term.kind == "prefix" else None
        if expanded:
            ors = " OR ".join(_fts_string(token) for token in expanded)
            parts.append(f"({ors})" if len(expanded) > 1 else ors)
        elif term.kind == "prefix":
            parts.append(_fts_string(term.stems[0]) + "*")
        else:
            parts.append(_fts_string(" ".join(term.stems)))
    return " AND ".join(parts) or None


MAX_EXPANSION = 256
"""A prefix covering at most this many indexed terms is searched as their OR (docs/decisions.md D50): FTS5 walks
each term's rowids newest first and stops at the window, where its own ``"prefix"*`` first merges every matching
term's whole doclist (``bygglov*`` over a million documents: 22 ms, as an OR of its 2 terms 3 ms; ``för*``, 6
common terms: 650 ms and 59 ms). Each OR branch costs about 0.07 ms to set up (256 rare terms: 20 ms); the cap
keeps the expression bounded for a two-letter prefix of a large vocabulary, which keeps FTS5's own search."""

_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)  # what unicode61 keeps of a stem: letters and digits; "_" separates


def index_terms(*indexed: str) -> set[str]:
    """The distinct FTS5 tokens of `index_text` output, as a terms table (``…_terms``) lists them."""
    return {token for text in indexed for token in _TOKEN.findall(text)}


def fts5_terms_sql(terms_table: str) -> str:
    """SQL for the indexed terms from ``:low`` up to ``:high`` (exclusive), at most ``:cap`` of them."""
    return f"SELECT term FROM {terms_table} WHERE term >= :low AND term < :high ORDER BY term LIMIT :cap"


def prefix_expansions(
    query: Query, terms_table: str, run: Callable[[str, Mapping[str, object]], Sequence[str]]
) -> dict[str, tuple[str, ...]]:
    """For each prefix of ``query``, the indexed terms it covers when there are 1…`MAX_EXPANSION` of them.

    ``run(sql, params)`` returns the first column of a query on the database holding ``terms_table``.
    """
    found: dict[str, tuple[str, ...]] = {}
    for term in query.terms:
        prefix = term.stems[0] if term.kind == "prefix" else ""
        if not prefix or prefix in found:
            continue
        # Terms sort by code point (BINARY collation over UTF-8), so the prefix's range ends where its last
        # character's successor begins.
        high = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        terms = tuple(run(fts5_terms_sql(terms_table), {"low": prefix, "high": high, "cap": MAX_EXPANSION + 1}))
        if 0 < len(terms) <= MAX_EXPANSION:
            found[prefix] = terms
    return found


def tsquery_text(query: Query) -> str | None:
    """The ``to_tsquery('swedish', …)`` text for ``query``'s terms (None if none); PostgreSQL stems it itself."""
    parts = []
    for term in query.terms:
        # A phrase keeps its stop words: PostgreSQL counts their positions (``'beslut' <2> 'älgjakt'``).
        typed = list(term.words) if term.kind == "phrase" else [w for w in term.words if w not in STOP_WORDS]
        if not typed:
            continue
        quoted = [f"'{w}'" for w in typed]  # \w+ words only: no quote can be inside
        if term.kind == "prefix":
            parts.append(quoted[0] + ":*")
        elif term.kind == "phrase":
            parts.append("(" + " <-> ".join(quoted) + ")")
        else:
            parts.append(quoted[0])
    return " & ".join(parts) or None


def _marks(query: Query) -> tuple[frozenset[str], tuple[str, ...]]:
    return query.highlight_stems()


def _is_hit(word: str, whole: frozenset[str], prefixes: Sequence[str]) -> bool:
    lower = word.lower()
    if lower in STOP_WORDS:
        return False
    stemmed = stem(lower)
    return stemmed in whole or any(stemmed.startswith(p) or lower.startswith(p) for p in prefixes)


def highlight(text: str, query: Query) -> list[tuple[str, bool]]:
    """``text`` cut into pieces, each marked True where it is a word the query matched."""
    whole, prefixes = _marks(query)
    pieces: list[tuple[str, bool]] = []
    last = 0
    for match in _WORD.finditer(text):
        if _is_hit(match.group(0), whole, prefixes):
            if match.start() > last:
                pieces.append((text[last : match.start()], False))
            pieces.append((match.group(0), True))
            last = match.end()
    if last < len(text):
        pieces.append((text[last:], False))
    return pieces


def snippet(text: str, query: Query, width: int = 220) -> list[tuple[str, bool]]:
    """About ``width`` characters of ``text`` around its densest run of matched words, highlighted."""
    if not text:
        return []
    whole, prefixes = _marks(query)
    hits = [m.start() for m in _WORD.finditer(text) if _is_hit(m.group(0), whole, prefixes)]
    if not hits:
        start = 0
    else:
        best, best_count = hits[0], 0
        for i, begin in enumerate(hits):
            count = sum(1 for h in hits[i:] if h < begin + width * 0.6)
            if count > best_count:
                best, best_count = begin, count
        start = max(0, best - width // 4)
        space = text.rfind(" ", 0, start)
        start = 0 if space < 0 or start - space > 30 else space + 1
    end = min(len(text), start + width)
    space = text.find(" ", end)
    end = len(text) if space < 0 or space - end > 30 else space
    piece = " ".join(text[start:end].split())
    pieces = highlight(piece, query)
    if start > 0:
        pieces.insert(0, ("… ", False))
    if end < len(text):
        pieces.append((" …", False))
    return pieces


def joined(pieces: Iterable[tuple[str, bool]]) -> str:
    """The plain text of highlighted pieces."""
    return "".join(text for text, _hit in pieces)


WINDOW = 500
"""Matches ranked per search: the newest `WINDOW` matching documents are ranked by relevance, older ones are
not (docs/decisions.md D42). A term matching half a million documents then costs the same as one matching a
thousand; below `WINDOW` matches, the ranking is exact."""


def fts5_window_sql(table: str, filters: Sequence[str] = (), weights: str = "10.0, 5.0, 1.0") -> tuple[str, str]:
    """(ranked page, capped count) SQL over an FTS5 ``table`` with columns title, meta, body.

    Parameters: ``:q`` (the `fts5_expression`), ``:window``, ``:limit``, ``:offset``, and whatever the
    ``filters`` (SQL conditions on the table's own columns) name. Ranks with bm25 only the newest ``:window``
    matches: FTS5 walks a term's rowids newest first and stops, so the cost does not grow with the match count.
    """
    where = " AND ".join([f"{table} MATCH :q", *filters])
    window = f"SELECT rowid FROM {table} WHERE {where} ORDER BY rowid DESC LIMIT :window"
    ranked = (
        f"SELECT rowid, bm25({table}, {weights}) AS score FROM {table} WHERE {where} "
        f"AND rowid >= coalesce((SELECT min(rowid) FROM ({window})), 0) "
        "ORDER BY score, rowid DESC LIMIT :limit OFFSET :offset"
    )
    count = f"SELECT count(*) FROM (SELECT rowid FROM {table} WHERE {where} ORDER BY rowid DESC LIMIT :window + 1)"
    return ranked, count
