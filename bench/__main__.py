"""`python -m bench`: run every benchmark in turn (`make bench`)."""

from __future__ import annotations

import runpy

BENCHMARKS = ["bench.sync", "bench.search", "bench.ballots"]

if __name__ == "__main__":
    for name in BENCHMARKS:
        runpy.run_module(name, run_name="__main__")
