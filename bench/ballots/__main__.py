"""`python -m bench.ballots`: the ballot cryptography's figures, and a finite-field reference measured in the same run.

Targets (issue 6): encrypt + prove ≤ 10 ms; verify ≤ 2 ms per ballot on one core; tally + decrypt of 1,000,000
ballots ≤ 60 s; ≥ 20× faster than a 2048-bit finite-field ElGamal with the same proofs. Nothing here asserts a
timing. Sizes can be lowered for a quick look: TINGET_BENCH_TALLY_BALLOTS, TINGET_BENCH_VERIFY_BALLOTS.
"""

from __future__ import annotations

import concurrent.futures
import os
import random
import resource
import secrets
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bench.ballots import reference
from protocol import codec
from protocol.ballots import ballot, board, elgamal, group, poll, public_arithmetic, record, tally
from protocol.ballots.ballot import Ballot
from tests.support.elections import Election, new_election

RULES = poll.approval("bench-poll", ("park", "pool", "library", "bridge", "harbour"), 1, 3)
TALLY_BALLOTS = int(os.environ.get("TINGET_BENCH_TALLY_BALLOTS", "1000000"))
VERIFY_BALLOTS = int(os.environ.get("TINGET_BENCH_VERIFY_BALLOTS", "100000"))
POOL = 1_000
SAMPLES = 100
REFERENCE_SAMPLES = 5
OUT = Path(__file__).resolve().parent.parent / "out"


def line(label: str, value: str, target: str = "") -> None:
    print(f"  {label:<66} {value:>12}   {target}")


def median_ms(action: Callable[[], object], times: int) -> float:
    """Median CPU time of ``action`` in this process: other work on a shared machine does not inflate it."""
    samples = []
    for _ in range(times):
        started = time.process_time()
        action()
        samples.append((time.process_time() - started) * 1000)
    return statistics.median(samples)


def choice() -> frozenset[int]:
    return frozenset(random.sample(range(len(RULES.options)), random.randint(1, 3)))


def _cast_many(count: int, key_hex: str) -> list[Ballot]:
    key = group.point_from_hex(key_hex)
    return [ballot.cast_ballot(RULES, key, choice()) for _ in range(count)]


def _sum_many(ciphertexts: list[tuple[bytes, bytes]], repeat: int, start: int, stop: int) -> list[tuple[bytes, bytes]]:
    """Add ballots start..stop of a board where ballot i is pool[i % len(pool)], as a verifier does
    (`elgamal.total`, option by option, in blocks): the real additions, every point decoded afresh, no shortcut."""
    width = len(RULES.options)
    pool = [ciphertexts[i : i + width] for i in range(0, len(ciphertexts), width)]
    aggregate = list(tally.empty_aggregate(RULES))
    block = 10_000
    for low in range(start, stop, block):
        ballots = [pool[i % repeat] for i in range(low, min(stop, low + block))]
        for option in range(width):
            part = elgamal.total([elgamal.Ciphertext(*cts[option]) for cts in ballots])
            aggregate[option] = aggregate[option] + part
    return [(c.a, c.b) for c in aggregate]


def kiosk_and_hub(election: Election) -> tuple[float, float]:
    key = election.key.public_key
    cast_ms = median_ms(lambda: ballot.cast_ballot(RULES, key, choice()), SAMPLES)
    encoded = [ballot.cast_ballot(RULES, key, choice()).encoded() for _ in range(SAMPLES)]
    it = iter(encoded)

    def check() -> None:
        received = Ballot.from_bytes(next(it), RULES)
        assert ballot.ballot_problem(RULES, key, received) is None

    verify_ms = median_ms(check, SAMPLES)
    line("kiosk: encrypt + prove one ballot (ms CPU, median of 100)", f"{cast_ms:.2f}", "target ≤ 10")
    how = "the C extension" if public_arithmetic.NATIVE else "libsodium alone (the C extension is not built)"
    print(f"  hub: each ballot's proof equations checked together, one multi-scalar multiplication, by {how}")
    line("hub: decode, validate and verify one ballot, one core (ms CPU, median)", f"{verify_ms:.2f}", "target ≤ 2")
    return cast_ms, verify_ms


def finite_field(cast_ms: float, verify_ms: float) -> None:
    started = time.perf_counter()
    ff = reference.schnorr_group()
    made = time.perf_counter() - started
    key = pow(ff.g, secrets.randbelow(ff.q), ff.p)

    def bits() -> list[int]:
        chosen = choice()
        return [int(i in chosen) for i in range(len(RULES.options))]

    ballots = [reference.encrypt_and_prove(ff, key, bits(), 1, 3) for _ in range(REFERENCE_SAMPLES)]
    ff_cast = median_ms(lambda: reference.encrypt_and_prove(ff, key, bits(), 1, 3), REFERENCE_SAMPLES)
    it = iter(ballots)
    ff_verify = median_ms(lambda: reference.verify(ff, key, next(it), 1, 3), REFERENCE_SAMPLES)
    bits_p, bits_q = ff.p.bit_length(), ff.q.bit_length()
    print(f"  reference: {bits_p}-bit p, {bits_q}-bit subgroup (derived in {made:.1f} s), Python's pow, same proofs")
    line("reference: encrypt + prove one ballot (ms CPU, median of 5)", f"{ff_cast:.1f}")
    line("reference: verify one ballot (ms CPU, median of 5)", f"{ff_verify:.1f}")
    line("ristretto255 speed-up, encrypt + prove", f"{ff_cast / cast_ms:.0f}×", "target ≥ 20×")
    line("ristretto255 speed-up, verify", f"{ff_verify / verify_ms:.0f}×", "target ≥ 20×")


def tallying(election: Election) -> None:
    key = election.key.public_key
    chosen = [choice() for _ in range(POOL)]
    pool = [tuple(elgamal.encrypt(key, int(i in c))[0] for i in range(len(RULES.options))) for c in chosen]
    flat = [(c.a, c.b) for cts in pool for c in cts]
    uses = [TALLY_BALLOTS // POOL + (1 if i < TALLY_BALLOTS % POOL else 0) for i in range(POOL)]
    expected = [sum(n for c, n in zip(chosen, uses, strict=True) if o in c) for o in range(len(RULES.options))]
    # 1. incremental: what the hub's ingest does once per counted ballot.
    aggregate = tally.empty_aggregate(RULES)
    samples = []
    for cts in pool * 5:
        started = time.process_time()
        aggregate = tally.add_ciphertexts(aggregate, cts)
        samples.append((time.process_time() - started) * 1e6)
    per_ballot_us = statistics.median(samples)
    # 2. full recompute of the aggregate of TALLY_BALLOTS, in one process per core.
    workers = os.cpu_count() or 1
    bounds = [TALLY_BALLOTS * w // workers for w in range(workers + 1)]
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with concurrent.futures.ProcessPoolExecutor(workers) as pool_exec:
        parts = list(pool_exec.map(_sum_many, [flat] * workers, [POOL] * workers, bounds[:-1], bounds[1:]))
    full = tally.empty_aggregate(RULES)
    for part in parts:
        full = tally.add_ciphertexts(full, tuple(elgamal.Ciphertext(a, b) for a, b in part))
    recompute_s = time.perf_counter() - started
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    recompute_cpu = (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime)
    # 3. at close: k = 2 partial decryptions with proofs, their check, Lagrange, discrete logs up to TALLY_BALLOTS.
    started = time.perf_counter()
    partials = [tally.decrypt_share(RULES, election.key, i, election.shares[i], full) for i in (1, 3)]
    counts = tally.combine(RULES, election.key, full, partials, TALLY_BALLOTS)
    decrypt_s = time.perf_counter() - started
    assert counts == expected, (counts, expected)
    n = f"{TALLY_BALLOTS:,}"
    print(f"  tally of {n} ballots: {POOL:,} distinct encryptions (no proofs) repeated; every addition is really done")
    line(
        "incremental: add one counted ballot to the running aggregate (µs)",
        f"{per_ballot_us:.0f}",
        f"= {per_ballot_us * TALLY_BALLOTS / 1e6:.0f} s of ingest CPU spread over the poll for {n}",
    )
    line("at close, aggregate kept up to date: decrypt (2-of-3) + combine (s)", f"{decrypt_s:.2f}", "target ≤ 60")
    line(
        f"full recompute of the {n}-ballot aggregate, {workers} processes (s)",
        f"{recompute_s:.1f}",
        f"CPU time {recompute_cpu:.0f} s: {recompute_cpu * 1e6 / TALLY_BALLOTS:.0f} µs a ballot",
    )
    line("full recompute + decrypt + combine (s)", f"{recompute_s + decrypt_s:.1f}", "target ≤ 60")
    print(f"  decrypted counts {counts} = the plain counts of the encryptions")


def verify_record(election: Election) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    version = ballot.BALLOT_FORMAT.rsplit("/", 1)[-1]  # a cached record of an older ballot format is not reused
    path = OUT / f"verify-{version}-{VERIFY_BALLOTS}-{group.to_hex(election.key.public_key)[:12]}.jsonl"
    note = "reused from an earlier run"
    if not path.exists():
        note = make_record(election, path)
    workers = os.cpu_count() or 1
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "tinget.cli", "verify", str(path), "--jobs", str(workers)],
                          capture_output=True, text=True, check=False)  # fmt: skip
    elapsed = time.perf_counter() - started
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime)
    assert done.returncode == 0, done.stdout + done.stderr
    n = f"{VERIFY_BALLOTS:,}"
    print(f"  tinget verify: a {path.stat().st_size / 1e6:.0f} MB record of {n} ballots with real proofs ({note})")
    line(f"tinget verify, {n} ballots, --jobs {workers} (s, process start included)", f"{elapsed:.1f}")
    line("  per ballot, wall clock (ms)", f"{elapsed * 1000 / VERIFY_BALLOTS:.2f}")
    line("  per ballot, CPU time of all its processes (ms)", f"{cpu * 1000 / VERIFY_BALLOTS:.2f}", "target ≤ 2")


def make_record(election: Election, path: Path) -> str:
    started = time.perf_counter()
    workers = os.cpu_count() or 1
    batch = 500
    counts = [batch] * (VERIFY_BALLOTS // batch) + ([VERIFY_BALLOTS % batch] if VERIFY_BALLOTS % batch else [])
    key_hex = group.to_hex(election.key.public_key)
    entries: list[board.BoardEntry] = []
    aggregate = tally.empty_aggregate(RULES)
    with concurrent.futures.ProcessPoolExecutor(workers) as pool:
        for cast in pool.map(_cast_many, counts, [key_hex] * len(counts)):
            for b in cast:
                entry = board.accept(
                    RULES.poll_id, entries[-1] if entries else None, b, f"voter-{len(entries)}", len(entries)
                )
                entries.append(entry)
                aggregate = tally.add_ballot(aggregate, b)
    partials = [tally.decrypt_share(RULES, election.key, i, election.shares[i], aggregate) for i in (1, 3)]
    result = record.Result(tuple(tally.combine(RULES, election.key, aggregate, partials, len(entries))), len(entries))
    with path.open("wb") as out:
        out.writelines(record.board_lines(RULES, election.key, entries))
        out.write(codec.encode(record.tally_line(entries[-1].hash, len(entries), aggregate, partials, result)) + b"\n")
    return f"generated in {time.perf_counter() - started:.0f} s in {workers} processes, cached in bench/out/"


def main() -> None:
    print(f"bench/ballots — {os.cpu_count()} cores; every figure below was measured in this run")
    print(f"  poll: {len(RULES.options)}-option approval, 1..3 choices (5 bit proofs + a 3-branch sum proof); "
          "2-of-3 trustees; ristretto255: libsodium (pysodium), proof checks by the C extension (D84)")  # fmt: skip
    election = new_election(RULES, seed="bench")
    cast_ms, verify_ms = kiosk_and_hub(election)
    finite_field(cast_ms, verify_ms)
    tallying(election)
    verify_record(election)


if __name__ == "__main__":
    main()
