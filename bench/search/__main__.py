"""`python -m bench.search`: index build time and query latencies over 1,000,000 generated Swedish documents on
SQLite (and PostgreSQL when it answers), each beside a naive baseline measured in the same run, then the kiosk
catalogue sync of 100,000 documents beside the single-set design it replaced.

Targets (issue "public records"): p95 ≤ 50 ms for every query class on both databases, including a term that
matches half the documents ranked top 20; catalogue sync of 100,000 documents ≤ 30 s.
``BENCH_SEARCH_DOCUMENTS`` and ``BENCH_CATALOGUE_DOCUMENTS`` make a quicker, smaller run.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

from bench.search import catalogue, index, queries
from hub.db import make_engine, make_session_factory

DOCUMENTS = int(os.environ.get("BENCH_SEARCH_DOCUMENTS", "1000000"))
CATALOGUE = int(os.environ.get("BENCH_CATALOGUE_DOCUMENTS", "100000"))


def line(label: str, value: str, target: str = "") -> None:
    print(f"  {label:<40} {value:>44}   {target}", flush=True)


def query_table(url: str) -> None:
    """Every query class through the product and the baseline, on the database at ``url``."""
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        for label, raw in queries.CLASSES:
            ours = queries.product(session, raw)
            base = queries.naive(session, raw, runs=5 if "common" in label or "prefix" in label else queries.RUNS)
            ratio = base.p95 / ours.p95 if ours.p95 else float("inf")
            value = f"p50 {ours.p50:6.1f} ms  p95 {ours.p95:6.1f} ms  (naive p95 {base.p95:7.1f} ms, x{ratio:5.1f})"
            line(f"{label} [{raw}]", value, "target p95 ≤ 50 ms")
    engine.dispose()


def main() -> None:
    print(f"bench/search: {DOCUMENTS:,} documents; catalogue sync of {CATALOGUE:,}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-search-") as tmp:
        folder = Path(tmp)
        url, seconds = index.build_sqlite(folder / "hub.db", DOCUMENTS)
        print("SQLite FTS5 (Snowball Swedish stems)", flush=True)
        line("index build", f"{seconds:.1f} s ({DOCUMENTS / seconds:,.0f} documents/s)")
        query_table(url)
        (folder / "hub.db").unlink()
        why_not = index.postgres_reachable()
        if why_not is None:
            name = f"tinget_bench_{secrets.token_hex(3)}"
            try:
                url, seconds = index.build_postgres(name, DOCUMENTS)
                print("PostgreSQL (swedish text search, GIN)", flush=True)
                line("index build", f"{seconds:.1f} s ({DOCUMENTS / seconds:,.0f} documents/s)")
                query_table(url)
            finally:
                index.drop_postgres(name)
        else:
            print(f"PostgreSQL: not measured ({why_not})", flush=True)
        chunked, single = catalogue.run(folder / "catalogue", CATALOGUE)
        print("Kiosk catalogue sync (device API over mTLS, chunks of 1,000)", flush=True)
        line(
            f"{CATALOGUE:,} documents' metadata",
            f"{chunked:.1f} s (single-set design {single:.1f} s, x{single / chunked:.1f})",
            "target ≤ 30 s",
        )


if __name__ == "__main__":
    main()
