"""Timing the query classes through the product's search (`hub.registry.search.find`) and a naive baseline.

The baseline is what one writes first: rank every match (``ORDER BY bm25`` on SQLite, ``ORDER BY ts_rank`` on
PostgreSQL) and take the top 20. The product ranks only the newest `protocol.search.WINDOW` matches.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from bench.search import corpus
from hub.registry import search
from protocol import search as analysis

CLASSES = (
    ("rare term", corpus.RARE_TERM),
    ("mid-frequency term (~1 %)", corpus.MID_TERM),
    ("very common term (50 %), top 20", corpus.COMMON_TERM),
    ("two terms", corpus.TWO_TERMS),
    ("prefix", corpus.PREFIX_TERM),
    ("phrase", corpus.PHRASE_TERM),
)
RUNS = 40


@dataclass(frozen=True, slots=True)
class Timing:
    """Latencies of one query class, in milliseconds."""

    p50: float
    p95: float
    matches: int


def _time(run: Callable[[], int], runs: int) -> Timing:
    run()  # the first run warms the caches; a kiosk or hub answers many searches, not one
    samples, matches = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        matches = run()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return Timing(statistics.median(samples), samples[min(len(samples) - 1, int(0.95 * len(samples)))], matches)


def product(session: Session, raw: str, runs: int = RUNS) -> Timing:
    """The hub's search as the web and the API run it (a page of 20 and the capped count)."""
    query = analysis.parse_query(raw)
    return _time(lambda: len(search.find(session, query, search.Filters()).ids), runs)


def naive(session: Session, raw: str, runs: int = RUNS) -> Timing:
    """Every match ranked, the top 20 taken."""
    query = analysis.parse_query(raw)
    if session.get_bind().dialect.name == "postgresql":
        sql = text(
            "SELECT doc_id FROM registry_search WHERE tsv @@ to_tsquery('swedish', :q) "
            "ORDER BY ts_rank(tsv, to_tsquery('swedish', :q)) DESC LIMIT 20"
        )
        params = {"q": analysis.tsquery_text(query)}
    else:
        sql = text(
            "SELECT rowid FROM registry_search WHERE registry_search MATCH :q "
            "ORDER BY bm25(registry_search, 10.0, 5.0, 1.0) LIMIT 20"
        )
        params = {"q": analysis.fts5_expression(query)}
    return _time(lambda: len(session.execute(sql, params).all()), runs)
