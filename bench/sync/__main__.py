"""`python -m bench.sync`: prints the sync pipeline's figures and the bare-paho ceiling, measured in one run.

Targets (issue "offline-first sync"): ≥ 2,000 messages/s from 10 kiosks, ratio ≥ 0.5 of the bare loop, p99 ≤ 50 ms
at a steady 100 messages/s, a 10,000-message backlog drained in ≤ 10 s, the sync agent under 60 MB RSS.
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from pathlib import Path

from bench.sync.baseline import Identity, run_ceiling
from bench.sync.system import BenchSystem, cpu_count

KIOSKS = 10
PER_KIOSK = 5_000
BACKLOG = 10_000
STEADY_RATE = 100  # actions per second
STEADY_SECONDS = 10


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def line(label: str, value: str, target: str = "") -> None:
    print(f"  {label:<58} {value:>14}   {target}")


def ceiling(system: BenchSystem, kiosks: int) -> float:
    """Bare publish-and-reply messages/s through the same broker, ``kiosks`` publishers in parallel threads."""
    layout = system.layout
    hub = Identity(layout.chain, layout.hub_client.cert_file, layout.hub_client.key_file)
    rates: list[float] = []
    threads = []
    results: list[float] = []

    def one(device_id: str) -> None:
        cred = layout.device(device_id)
        ident = Identity(layout.chain, cred.cert_file, cred.key_file)
        results.append(
            run_ceiling(
                hub,
                ident,
                device_id,
                system.broker.host,
                system.broker.port,
                messages=PER_KIOSK,
                batch_size=100,
                window=10,
                echo_id=f"echo-{device_id}",
            )
        )

    started = time.perf_counter()
    for k in system.kiosks[:kiosks]:
        threads.append(threading.Thread(target=one, args=(k.device_id,)))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    rates.append(kiosks * PER_KIOSK / elapsed)
    return rates[0]


def main() -> None:
    print(f"bench/sync — {cpu_count()} cores; every figure below was measured in this run")
    with tempfile.TemporaryDirectory(prefix="tinget-bench-sync-") as scratch:
        system = BenchSystem(Path(scratch), KIOSKS)
        try:
            ceiling_1 = ceiling(system, 1)
            ceiling_10 = ceiling(system, KIOSKS)
            system.start_ingest()

            # 1. Backlog: 10,000 confirmed while the agent is off (the kiosk was offline), then it connects.
            one = system.kiosks[0]
            one.confirm(BACKLOG, one_transaction=True)
            started = time.perf_counter()
            system.start_agents([one])
            system.wait_drained([one])
            drain_s = time.perf_counter() - started
            rate_1 = BACKLOG / drain_s

            # 2. Ten kiosks, each with 5,000 confirmed while offline, connect at once.
            one.stop_agent()
            for k in system.kiosks:
                k.confirm(PER_KIOSK, one_transaction=True)
            started = time.perf_counter()
            system.start_agents(system.kiosks)
            system.wait_drained(system.kiosks)
            rate_10 = KIOSKS * PER_KIOSK / (time.perf_counter() - started)

            # 3. Steady 100 actions/s from one kiosk, one transaction per action as the UI writes them.
            steady = system.kiosks[1]
            before = len(steady.latencies_ms())
            t0 = time.monotonic()
            for i in range(STEADY_RATE * STEADY_SECONDS):
                target = t0 + i / STEADY_RATE
                pause = target - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                steady.confirm(1, one_transaction=True)
                if i % 20 == 0:
                    steady.sample_rss()
            system.wait_drained([steady])
            lat = steady.latencies_ms()[before:]
            rss_mb = max(k.rss_peak_kb for k in system.kiosks) / 1024
        finally:
            system.close()
    print()
    print("  ceiling: bare paho QoS 1 publish → reply loop, no database, same broker, batches of 100, window 10")
    print("  (the 10-publisher ceiling runs its publishers as threads of one process: one interpreter's worth of CPU)")
    line("ceiling, 1 publisher (messages/s)", f"{ceiling_1:,.0f}")
    line(f"ceiling, {KIOSKS} publishers (messages/s)", f"{ceiling_10:,.0f}")
    print()
    print("  Tinget: outbox → broker → ingest commit → ack → kiosk marks delivered")
    line(
        "1 kiosk, 10,000 backlog (messages/s, connect included)",
        f"{rate_1:,.0f}",
        f"ratio {rate_1 / ceiling_1:.2f} of the 1-publisher ceiling",
    )
    line(
        f"{KIOSKS} kiosks, 5,000 backlog each (messages/s, connect incl.)",
        f"{rate_10:,.0f}",
        f"target ≥ 2,000; ratio {rate_10 / ceiling_10:.2f} of the {KIOSKS}-publisher ceiling (target ≥ 0.5)",
    )
    line(f"ack latency at {STEADY_RATE}/s, p50 (ms)", f"{statistics.median(lat):.1f}")
    line(f"ack latency at {STEADY_RATE}/s, p99 (ms)", f"{percentile(lat, 0.99):.1f}", "target ≤ 50")
    line(f"drain a {BACKLOG:,} backlog after reconnect (s)", f"{drain_s:.2f}", "target ≤ 10, connect included")
    line("sync agent peak RSS (MB)", f"{rss_mb:.1f}", "target < 60")


if __name__ == "__main__":
    main()
