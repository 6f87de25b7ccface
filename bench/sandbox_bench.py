"""Sandbox overhead: ``POST /api/query`` and the PostgreSQL endpoint against the same query on a
direct DuckDB connection.

One run measures the three sides on the same store: a point lookup and an aggregate
over a 100k-row synthetic table, at concurrency 1, 4 and 16. The server runs
in its own process (uvicorn, one worker, the configured sandbox limits, and the PostgreSQL
listener over the same engine, as ``catalog-synth serve --pg-port``); the clients are threads
with keep-alive connections (stdlib ``http.client``; one psycopg 3 connection per thread for
the wire). Prints median latencies, throughput and the ratios to direct DuckDB, and checks them
against the goals: HTTP overhead <= 1.2x on the aggregate, >= 200 point queries/s over HTTP;
the wire adds < 2 ms per point lookup and answers >= 1,000 point queries/s at concurrency 16.

    .venv/bin/python bench/sandbox_bench.py [--rows 100000]
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb
import httpx
import numpy as np
import pandas as pd

from catalog_synth.core.types import (
    ColumnInfo,
    ColumnKind,
    SyntheticTable,
    TableInfo,
    TableRef,
)
from catalog_synth.store.copies import Store

CONCURRENCY = (1, 4, 16)
POINT = "SELECT * FROM public.events WHERE id = {id}"
AGGREGATE = (
    "SELECT city, count(*) AS n, avg(amount) AS mean_amount, max(happened_at) AS last "
    "FROM public.events GROUP BY city ORDER BY city"
)
SERVER = """
import sys, uvicorn
from catalog_synth.core.config import load_config
from catalog_synth.serve.app import create_app
from catalog_synth.serve.pgwire import WireThread
config = load_config(sys.argv[1])
app = create_app(config)
WireThread(app.state.engine, config.sandbox, "127.0.0.1", int(sys.argv[3])).start()
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
"""


@dataclass
class Measurement:
    latencies_ms: list[float]
    seconds: float

    @property
    def median_ms(self) -> float:
        return statistics.median(self.latencies_ms)

    @property
    def per_second(self) -> float:
        return len(self.latencies_ms) / self.seconds


def build_store(path: Path, rows: int) -> None:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {
            "id": np.arange(1, rows + 1),
            "city": rng.choice([f"city-{i:02d}" for i in range(20)], rows),
            "amount": rng.gamma(2.0, 30.0, rows).round(2),
            "happened_at": pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 10**7, rows), unit="s"),
        }
    )
    ref = TableRef("bench", "public", "events")
    kinds = {"id": ColumnKind.INTEGER, "city": ColumnKind.STRING, "amount": ColumnKind.FLOAT,
             "happened_at": ColumnKind.DATETIME}
    info = TableInfo(ref, [ColumnInfo(name, kind.value, kind) for name, kind in kinds.items()], row_count=rows)
    with Store(path).writer() as writer:
        writer.write(SyntheticTable(ref, info, frame, preview_rows=10), multi_warehouse=False, dialect="duckdb")


def start_server(config: Path, port: int, pg_port: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(config), str(port), str(pg_port)])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("the sandbox server did not start")


def measure(make_worker: Callable[[], Callable[[str], None]], sqls: list[str], concurrency: int) -> Measurement:
    """Run ``sqls`` spread over ``concurrency`` threads; each thread gets its own worker (cursor or client)."""
    latencies: list[float] = []
    lock = threading.Lock()
    shares = [sqls[i::concurrency] for i in range(concurrency)]

    def work(share: list[str]) -> None:
        run = make_worker()
        local = []
        for sql in share:
            started = time.perf_counter()
            run(sql)
            local.append((time.perf_counter() - started) * 1000)
        with lock:
            latencies.extend(local)

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(work, shares))
    return Measurement(latencies, time.perf_counter() - started)


def direct_worker(connection: duckdb.DuckDBPyConnection) -> Callable[[], Callable[[str], None]]:
    def make() -> Callable[[str], None]:
        cursor = connection.cursor()
        return lambda sql: cursor.execute(sql).fetchall()

    return make


def http_worker(port: int) -> Callable[[], Callable[[str], None]]:
    """A keep-alive ``http.client`` connection per thread: the lightest client, so the
    clients sharing the machine take as little CPU from the server as possible."""

    def make() -> Callable[[str], None]:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

        def run(sql: str) -> None:
            connection.request("POST", "/api/query", json.dumps({"sql": sql}), {"Content-Type": "application/json"})
            response = connection.getresponse()
            body = response.read()
            if response.status != 200:
                raise RuntimeError(f"HTTP {response.status}: {body[:200]!r}")
            json.loads(body)

        return run

    return make


def wire_worker(port: int) -> Callable[[], Callable[[str], None]]:
    """One psycopg 3 connection per thread (extended protocol, as psycopg sends every query)."""
    import psycopg

    def make() -> Callable[[str], None]:
        connection = psycopg.connect(f"host=127.0.0.1 port={port} user=bench dbname=bench", autocommit=True)
        return lambda sql: connection.execute(sql, prepare=False).fetchall()

    return make


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--point-queries", type=int, default=800, help="point lookups per concurrency level")
    parser.add_argument("--aggregate-queries", type=int, default=160, help="aggregates per concurrency level")
    parser.add_argument("--port", type=int, default=8799)
    parser.add_argument("--pg-port", type=int, default=8798)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        store, config = Path(folder) / "store.duckdb", Path(folder) / "bench.yml"
        build_store(store, args.rows)
        # Every client thread here is one address (one client): its share is all the slots, so
        # concurrency 16 waits for slots instead of being told to slow down (HTTP 429, SQLSTATE 53400).
        config.write_text(f"warehouses:\n  - name: bench\n    url: sqlite:///unused.db\nstore: {store}\n"
                          "sandbox:\n  max_concurrent_queries: 16\n  max_queries_per_client: 16\n")
        rng = random.Random(3)
        workloads = {
            "point": [POINT.format(id=rng.randint(1, args.rows)) for _ in range(args.point_queries)],
            "aggregate": [AGGREGATE] * args.aggregate_queries,
        }
        server = start_server(config, args.port, args.pg_port)
        connection = duckdb.connect(str(store), read_only=True)
        try:
            results = run_all(workloads, direct_worker(connection), http_worker(args.port), wire_worker(args.pg_port))
        finally:
            connection.close()
            server.terminate()
            server.wait(timeout=30)
    report(results, args.rows)


def run_all(
    workloads: dict[str, list[str]],
    direct: Callable[[], Callable[[str], None]],
    http: Callable[[], Callable[[str], None]],
    wire: Callable[[], Callable[[str], None]],
) -> dict[tuple[str, int], tuple[Measurement, Measurement, Measurement]]:
    for sqls in workloads.values():  # warm every side (page cache, sqlglot, connections)
        for side in (direct, http, wire):
            measure(side, sqls[:20], 1)
    return {
        (name, concurrency): (measure(direct, sqls, concurrency), measure(http, sqls, concurrency),
                              measure(wire, sqls, concurrency))
        for name, sqls in workloads.items()
        for concurrency in CONCURRENCY
    }


def report(results: dict[tuple[str, int], tuple[Measurement, Measurement, Measurement]], rows: int) -> None:
    print(f"sandbox benchmark: {rows:,} rows, server = uvicorn + PostgreSQL listener (1 process), "
          "clients = threads on this machine")
    header = (f"{'query':<10}{'conc':>5}{'direct ms':>11}{'http ms':>10}{'ratio':>8}{'wire ms':>9}{'ratio':>8}"
              f"{'direct q/s':>12}{'http q/s':>10}{'wire q/s':>10}")
    print(header)
    print("-" * len(header))
    for (name, concurrency), (direct, served, wire) in results.items():
        print(
            f"{name:<10}{concurrency:>5}{direct.median_ms:>11.2f}{served.median_ms:>10.2f}"
            f"{served.median_ms / direct.median_ms:>7.2f}x{wire.median_ms:>9.2f}"
            f"{wire.median_ms / direct.median_ms:>7.2f}x{direct.per_second:>12.0f}{served.per_second:>10.0f}"
            f"{wire.per_second:>10.0f}"
        )
    aggregate_ratio = results[("aggregate", 1)][1].median_ms / results[("aggregate", 1)][0].median_ms
    best_point = max(results[("point", c)][1].per_second for c in CONCURRENCY)
    print()
    print(f"goal: aggregate overhead <= 1.20x at concurrency 1: {aggregate_ratio:.2f}x "
          f"({'met' if aggregate_ratio <= 1.2 else 'NOT met'})")
    print(f"goal: >= 200 point queries/s over HTTP: {best_point:.0f}/s ({'met' if best_point >= 200 else 'NOT met'})")
    added = results[("point", 1)][2].median_ms - results[("point", 1)][0].median_ms
    wire_16 = results[("point", 16)][2].per_second
    print(f"goal: the wire adds < 2 ms per point lookup at concurrency 1: {added:.2f} ms "
          f"({'met' if added < 2 else 'NOT met'})")
    print(f"goal: >= 1,000 point queries/s over the wire at concurrency 16: {wire_16:.0f}/s "
          f"({'met' if wire_16 >= 1000 else 'NOT met'})")


if __name__ == "__main__":
    main()
