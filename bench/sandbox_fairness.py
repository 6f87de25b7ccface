"""Fairness under load: a second client's latency while a first one floods the sandbox.

One run, three phases on the same store (``sandbox_bench.py``'s 100k-row table), each on a
fresh server (uvicorn, one process, 8 query slots):

  1. alone: client B runs ``--queries`` aggregates one after another;
  2. flood, shares on: client A (its own token) keeps ``--flood`` threads sending queries
     that only the time limit stops, retrying at once when refused; B runs the same aggregates;
  3. flood, shares off (``max_queries_per_client`` = all 8 slots: A may take every slot):
     the same flood, B runs at most ``--queries-unfair`` aggregates.

Prints B's p50/p99 latency and answers per phase, the ratio to phase 1, and what A got.
Every loop is bounded in requests and time; traffic goes to 127.0.0.1 only.

    .venv/bin/python bench/sandbox_fairness.py [--flood 24] [--queries 200]
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import statistics
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sandbox_bench import AGGREGATE, build_store, start_server

HEAVY = "SELECT count(*) FROM range(1000000) a, range(1000000) b WHERE a.range + b.range = 7"
TOKENS = {"A": "bench-token-flooder", "B": "bench-token-innocent"}
SLOTS = 8
TIMEOUT_SECONDS = 5.0
FLOOD_LIMIT_SECONDS = 600.0  # a flood thread stops by then at the latest
FLOOD_LIMIT_REQUESTS = 20_000  # per flood thread


@dataclass
class Phase:
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    flood_statuses: Counter[int] = field(default_factory=Counter)

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies_ms)


def post(connection: http.client.HTTPConnection, sql: str, token: str) -> int:
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    connection.request("POST", "/api/query", json.dumps({"sql": sql}), headers)
    response = connection.getresponse()
    response.read()
    return response.status


def flood(port: int, stop: threading.Event, statuses: Counter[int], lock: threading.Lock) -> None:
    """Client A: heavy queries back to back, retrying at once when refused (the rude client)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    deadline = time.monotonic() + FLOOD_LIMIT_SECONDS
    seen: Counter[int] = Counter()
    for _ in range(FLOOD_LIMIT_REQUESTS):
        if stop.is_set() or time.monotonic() > deadline:
            break
        seen[post(connection, HEAVY, TOKENS["A"])] += 1
    connection.close()
    with lock:
        statuses.update(seen)


def wait_for_flood(port: int, taken: int) -> None:
    """Until A's queries hold ``taken`` slots (the sandbox's own gauge), so B meets the full flood."""
    deadline = time.monotonic() + 60
    headers = {"Authorization": f"Bearer {TOKENS['B']}"}
    while time.monotonic() < deadline:
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", headers=headers).text
        running = next(s.value for family in text_string_to_metric_families(metrics) for s in family.samples
                       if s.name == "catalog_synth_sandbox_queries_running")
        if running >= taken:
            return
        time.sleep(0.05)
    raise SystemExit("the flood never filled its slots")


def run_phase(config: Path, port: int, queries: int, flooders: int, share: int = SLOTS) -> Phase:
    phase, lock, stop = Phase(), threading.Lock(), threading.Event()
    server = start_server(config, port)
    try:
        threads = [threading.Thread(target=flood, args=(port, stop, phase.flood_statuses, lock)) for _ in range(flooders)]
        for thread in threads:
            thread.start()
        if flooders:
            wait_for_flood(port, taken=min(share, SLOTS))
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for _ in range(queries):
            started = time.perf_counter()
            phase.statuses[post(connection, AGGREGATE, TOKENS["B"])] += 1
            phase.latencies_ms.append((time.perf_counter() - started) * 1000)
        connection.close()
        stop.set()
        for thread in threads:
            thread.join()
    finally:
        server.terminate()
        server.wait(timeout=30)
    return phase


def write_config(folder: Path, store: Path, per_client: int | None) -> Path:
    digests = [hashlib.sha256(token.encode()).hexdigest() for token in TOKENS.values()]
    share = f"\n  max_queries_per_client: {per_client}" if per_client else ""
    config = folder / f"bench-{per_client or 'default'}.yml"
    config.write_text(
        f"warehouses:\n  - name: bench\n    url: sqlite:///unused.db\nstore: {store}\n"
        f"sandbox:\n  max_concurrent_queries: {SLOTS}\n  timeout_seconds: {TIMEOUT_SECONDS}\n"
        f"  token_hashes: {json.dumps(digests)}{share}\n"
    )
    return config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--flood", type=int, default=24, help="client A's concurrent heavy queries")
    parser.add_argument("--queries", type=int, default=200, help="client B's aggregates per phase")
    parser.add_argument("--queries-unfair", type=int, default=12, help="B's aggregates with shares off")
    parser.add_argument("--port", type=int, default=8798)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        store = folder / "store.duckdb"
        build_store(store, args.rows)
        fair, unfair = write_config(folder, store, None), write_config(folder, store, SLOTS)
        phases = {
            "alone": run_phase(fair, args.port, args.queries, 0),
            "flood, shares on": run_phase(fair, args.port, args.queries, args.flood, share=SLOTS // 2),
            "flood, shares off": run_phase(unfair, args.port, args.queries_unfair, args.flood),
        }
    report(phases, args)


def report(phases: dict[str, Phase], args: argparse.Namespace) -> None:
    print(f"sandbox fairness: {SLOTS} slots, {TIMEOUT_SECONDS:g} s limit, client A floods with {args.flood} "
          f"heavy queries, client B runs aggregates over {args.rows:,} rows")
    header = f"{'phase':<20}{'B p50 ms':>10}{'B p99 ms':>10}{'x alone':>9}  {'B answers':<22}A answers"
    print(header)
    print("-" * (len(header) + 24))
    alone = phases["alone"]
    for name, phase in phases.items():
        print(f"{name:<20}{phase.p50:>10.1f}{phase.percentile(0.99):>10.1f}{phase.p50 / alone.p50:>8.1f}x  "
              f"{_statuses(phase.statuses):<22}{_statuses(phase.flood_statuses)}")
    fair = phases["flood, shares on"]
    ok = fair.statuses == Counter({200: len(fair.latencies_ms)}) and fair.percentile(0.99) < 2000
    print(f"\ngoal: under the flood B answers every query, p99 under 2 s: "
          f"{fair.percentile(0.99):.0f} ms ({'met' if ok else 'NOT met'})")


def _statuses(statuses: Counter[int]) -> str:
    return ", ".join(f"{count}x{status}" for status, count in sorted(statuses.items())) or "-"


if __name__ == "__main__":
    main()
