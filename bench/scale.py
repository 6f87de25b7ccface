"""Warehouse scale: full sync, no-change re-sync, 1 % changed, against DataHub's own profiling.

Starts a private PostgreSQL server (tests/postgres_server.py), generates a warehouse
of ``--tables`` tables of varied widths (2-20 columns), types and sizes (500-5,000
rows), then measures in one run:

  1. ``catalog-synth sync`` from scratch (file sink on),
  2. the same sync again with nothing changed (in this process, and as users run it: the
     ``catalog-synth sync`` command in a fresh process, start-up and imports included),
  3. again after updating a few rows in 1 % of the tables,
  4. DataHub's own ``postgres`` source with profiling and sample values on, file sink,
     over the same tables (the baseline),

and prints times and the ratios against the goals: full <= 1.0x DataHub, no-change
(the command) <= 0.05x full, 1 % changed <= 0.05x full, 1,000 tables <= 3 minutes on 2
cores; the CPU seconds a 10-column, 2,000-row table costs (goal <= 0.25 s) and each stage's
share of it; CLI start-up; the peak memory of the calling process and of a worker.
Several sizes (``--tables 16 100 1000``) run one after the other, each on its own server.

``--profile`` prints where the full sync's time went, per stage: spans recorded where the
work ran (workers, and the calling process for store and publish), summed over tables.
``--cprofile N`` then profiles a single-process sync of N tables (cProfile).

    .venv/bin/python bench/scale.py --tables 100 --profile
    .venv/bin/python bench/scale.py --tables 100 1000
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import math
import os
import pstats
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import psycopg
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from cli_startup import CLI, measure, run_once  # noqa: E402
from postgres_server import PostgresServer  # noqa: E402

from catalog_synth.core.config import Config, validate_config  # noqa: E402
from catalog_synth.core.generators import DEFAULT_GENERATOR  # noqa: E402
from catalog_synth.core.types import TableResult, TableStatus  # noqa: E402
from catalog_synth.run.executors import default_workers, warm_up_synthesis  # noqa: E402
from catalog_synth.run.sync import SyncReport, run_sync  # noqa: E402

SCHEMA = "bench"
GOALS = {"full / datahub": 1.0, "no-change / full": 0.05, "1% changed / full": 0.05}
GOAL_SECONDS_PER_1000 = 180.0
GOAL_TABLE_CPU = 0.25  # seconds of CPU for a 10-column, 2,000-row table

# (column name prefix, SQL type, value expression over g = row number); names decide the
# privacy class of a few (email, city), the rest are plain measures, categories and dates.
COLUMN_KINDS = [
    ("amount", "numeric(10,2)", "round((random() * 10000)::numeric, 2)"),
    ("region", "text", "(ARRAY['north', 'south', 'east', 'west'])[1 + floor(random() * 4)::int]"),
    ("quantity", "integer", "floor(random() * 1000)::int"),
    ("created_at", "timestamp", "timestamp '2020-01-01' + random() * interval '1000 days'"),
    ("score", "double precision", "random() * 100"),
    ("active", "boolean", "random() < 0.3"),
    ("status", "varchar(20)", "(ARRAY['new', 'paid', 'shipped', 'returned', 'lost'])[1 + floor(random() * 5)::int]"),
    ("born_on", "date", "date '1950-01-01' + floor(random() * 20000)::int"),
    ("email", "text", "'user' || g || '@example.com'"),
    ("level", "smallint", "floor(random() * 5)::smallint"),
    ("city", "text", "(ARRAY['Lyon', 'Graz', 'Porto', 'Turku', 'Cork', 'Gent'])[1 + floor(random() * 6)::int]"),
    ("ratio", "real", "random()::real"),
]


def table_shape(index: int) -> tuple[int, int]:
    """Columns besides the key (1..19) and rows (500..5,000) of table ``index``."""
    return 1 + (index * 7) % 19, 500 * (1 + (index * 37) % 10)


def table_ddl(index: int) -> tuple[str, str]:
    """CREATE and INSERT statements for table ``index``: width, types and size vary with it."""
    width, rows = table_shape(index)
    columns = [COLUMN_KINDS[(index + k) % len(COLUMN_KINDS)] + (k,) for k in range(width)]
    name = f"{SCHEMA}.t{index:04d}"
    ddl = ", ".join(f"{prefix}_{k} {sql_type}" for prefix, sql_type, _, k in columns)
    values = ", ".join(expression for _, _, expression, _ in columns)
    create = f"CREATE TABLE {name} (id bigint PRIMARY KEY, {ddl})"
    insert = f"INSERT INTO {name} SELECT g, {values} FROM generate_series(1, {rows}) AS g"
    return create, insert


def build_warehouse(server: PostgresServer, tables: int) -> str:
    url = server.create_database("warehouse")
    with psycopg.connect(server.dsn("warehouse"), autocommit=True) as con:
        con.execute(f"CREATE SCHEMA {SCHEMA}")
        for index in range(tables):
            for statement in table_ddl(index):
                con.execute(statement)
        con.execute("ANALYZE")
    return url


def change_tables(server: PostgresServer, names: list[str]) -> None:
    """Update a few rows of each table (row counts stay the same: only change statistics show it)."""
    with psycopg.connect(server.dsn("warehouse"), autocommit=True) as con:
        for name in names:
            con.execute(f"UPDATE {SCHEMA}.{name} SET id = id WHERE id <= 10")
        con.execute("SELECT pg_stat_force_next_flush()")  # what the server does by itself within ~1 s


def config_dict(
    url: str, work: Path, workers: int | None, include: list[str] | None = None, synthesizer: str = DEFAULT_GENERATOR
) -> dict:
    return {
        "warehouses": [{"name": "bench", "url": url, "include": include or [f"{SCHEMA}.*"]}],
        "store": str(work / "sandbox.duckdb"),
        "catalog": {"file": str(work / "catalog-synth-mcps.json")},
        "seed": 7,
        "executor": {"workers": workers},
        "synthesizer": synthesizer,
    }


def sync_config(
    url: str, work: Path, workers: int | None, include: list[str] | None = None, synthesizer: str = DEFAULT_GENERATOR
) -> Config:
    return validate_config(config_dict(url, work, workers, include, synthesizer))


def command_sync(url: str, work: Path, workers: int | None, synthesizer: str) -> float:
    """Wall seconds of ``catalog-synth sync`` in a fresh process (start-up and imports included)."""
    config_file = work / "catalog-synth.yml"
    config_file.write_text(yaml.safe_dump(config_dict(url, work, workers, synthesizer=synthesizer)), encoding="utf-8")
    seconds, _ = run_once([CLI, "sync", "-c", str(config_file)])
    return seconds


def timed(action: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def summary(report: SyncReport) -> str:
    counts = report.as_dict()["counts"]
    return ", ".join(f"{n} {status}" for status, n in counts.items() if n)


def datahub_profile(server: PostgresServer, work: Path) -> int:
    """DataHub's own postgres source, profiling and sample values on, file sink; returns profiles written."""
    from datahub.ingestion.run.pipeline import Pipeline

    output = work / "datahub-profiles.json"
    pipeline = Pipeline.create(
        {
            "source": {
                "type": "postgres",
                "config": {
                    "host_port": f"{server.host}:{server.port}",
                    "database": "warehouse",
                    "username": server.user,
                    "schema_pattern": {"allow": [f"^{SCHEMA}$"]},
                    "include_views": False,
                    "profiling": {"enabled": True, "include_field_sample_values": True},
                },
            },
            "sink": {"type": "file", "config": {"filename": str(output)}},
        }
    )
    with contextlib.redirect_stdout(io.StringIO()):  # its progress reports, every minute
        pipeline.run()
    pipeline.raise_from_status()
    records = json.loads(output.read_text())
    return sum(1 for r in records if r.get("aspectName") == "datasetProfile")


def profile_sync(url: str, work: Path, tables: int) -> str:
    """cProfile of a one-process sync over the first ``tables`` tables: the top entries by own and total time.

    The synthesis imports are paid before profiling starts, as pool workers do in their warm-up.
    """
    warm_up_synthesis()
    config = sync_config(url, work / "profiled", workers=1, include=[f"{SCHEMA}.t{i:04d}" for i in range(tables)])
    profiler = cProfile.Profile()
    profiler.enable()
    run_sync(config, full=True)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(r"catalog_synth|connectors|sdv|sdmetrics|rdt|copulas|faker|pandas.io.sql", 30)
    stats.sort_stats("tottime").print_stats(15)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tables", type=int, nargs="+", default=[100], help="warehouse sizes, one run each")
    parser.add_argument("--workers", type=int, default=None, help="sync worker processes (default: cores)")
    parser.add_argument("--synthesizer", default=DEFAULT_GENERATOR, help="the tables' generator (default: the default)")
    parser.add_argument("--profile", action="store_true", help="print where the full sync's time went, per stage")
    parser.add_argument("--cprofile", type=int, default=0, metavar="N", help="then cProfile a sync of N tables")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the server on the way out
    for tables in args.tables:
        run_size(tables, args)


def run_size(tables: int, args: argparse.Namespace) -> None:
    """Every measure for a warehouse of ``tables`` tables, on a server of its own."""
    workers = args.workers or default_workers()
    server = PostgresServer.start_new()
    work = Path(tempfile.mkdtemp(prefix="catalog-synth-scale-"))
    try:
        seconds, url = timed(lambda: build_warehouse(server, tables))
        print(f"\n== {tables} tables in schema {SCHEMA}, built in {seconds:.1f} s; {workers} sync workers;"
              f" generator {args.synthesizer}")
        print(f"load average before the runs: {', '.join(f'{load:.2f}' for load in os.getloadavg())}")
        startup = measure([CLI, "--help"], runs=5)
        print(f"catalog-synth --help: {startup.median:.2f} s (median of 5), peak RSS {max(startup.peak_rss_mb):.0f} MB")
        config = sync_config(url, work, args.workers, synthesizer=args.synthesizer)
        times: dict[str, float] = {}
        times["full"], full_report = timed(lambda: run_sync(config, full=True))
        print(f"{'full':>11} sync: {times['full']:7.1f} s  ({summary(full_report)})")
        seconds, report = timed(lambda: run_sync(config))
        print(f"{'no-change':>11} sync: {seconds:7.1f} s in this process ({summary(report)})")
        times["no-change"] = command_sync(url, work, args.workers, args.synthesizer)
        print(f"{'no-change':>11} sync: {times['no-change']:7.1f} s as the command, in a fresh process")
        changed = [f"t{i:04d}" for i in range(0, tables, 100)][: max(1, math.ceil(tables / 100))]
        change_tables(server, changed)
        times["1% changed"], report = timed(lambda: run_sync(config))
        print(f" 1% changed sync: {times['1% changed']:7.1f} s  ({summary(report)}; changed {len(changed)})")
        times["datahub"], profiles = timed(lambda: datahub_profile(server, work))
        print(f"DataHub profiling: {times['datahub']:7.1f} s  ({profiles} dataset profiles)")
        report_ratios(times, tables)
        report_costs(full_report, tables)
        if args.profile:
            print(stage_table(full_report))
        if args.cprofile:
            print(profile_sync(url, work, args.cprofile))
    finally:
        server.stop()
        for path in sorted(work.rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
        work.rmdir()


def report_ratios(times: dict[str, float], tables: int) -> None:
    ratios = {
        "full / datahub": times["full"] / times["datahub"],
        "no-change / full": times["no-change"] / times["full"],
        "1% changed / full": times["1% changed"] / times["full"],
    }
    for name, ratio in ratios.items():
        verdict = "meets" if ratio <= GOALS[name] else "misses"
        print(f"{name:>18}: {ratio:6.3f}  ({verdict} the goal of <= {GOALS[name]})")
    per_1000 = times["full"] / tables * 1000
    verdict = "meets" if per_1000 <= GOAL_SECONDS_PER_1000 else "misses"
    print(f"full sync scaled linearly to 1,000 tables: {per_1000:.0f} s ({verdict} the goal of <= 180 s)")
    print(f"(cores here: {os.cpu_count()}; load average now: {', '.join(f'{load:.2f}' for load in os.getloadavg())})")


def table_cpu(result: TableResult, report: SyncReport) -> float:
    """A table's CPU seconds: its own stages (worker and calling process) and its share of the run's."""
    return result.stages.total_cpu + report.stages.total_cpu / max(1, len(report.results))


def report_costs(report: SyncReport, tables: int) -> None:
    """CPU per table (all tables, and the 10-column 2,000-row ones), and peak memory."""
    synthesized = [r for r in report.results if r.status is TableStatus.SYNTHESIZED]
    total = sum(r.stages.total_cpu for r in report.results) + report.stages.total_cpu
    print(f"CPU of the full sync's table work: {total:.1f} s, {total / max(1, len(synthesized)):.3f} s per table")
    wanted = {f"t{i:04d}" for i in range(tables) if table_shape(i) == (9, 2000)}  # + the key: 10 columns
    shaped = [r for r in synthesized if r.ref.name in wanted]
    if shaped:
        cpu = sum(table_cpu(r, report) for r in shaped) / len(shaped)
        verdict = "meets" if cpu <= GOAL_TABLE_CPU else "misses"
        print(f"10-column, 2,000-row tables ({len(shaped)}): {cpu:.3f} s of CPU each ({verdict} the goal of"
              f" <= {GOAL_TABLE_CPU} s); per stage:")
        stages: Counter[str] = Counter()
        for result in shaped:
            stages.update(result.stages.cpu)
        stages["the run's own work (share)"] = report.stages.total_cpu / max(1, len(report.results)) * len(shaped)
        print("  " + ", ".join(f"{name} {seconds / len(shaped):.3f} s ({seconds / len(shaped) / cpu:.0%})"
                               for name, seconds in stages.most_common()))
    worker_peak = max((r.stages.peak_rss_mb for r in report.results), default=0.0)
    print(f"peak RSS: calling process {report.stages.peak_rss_mb:.0f} MB, a worker {worker_peak:.0f} MB")


def stage_table(report: SyncReport) -> str:
    """Where the full sync's time went: CPU and wall seconds per stage, summed over tables."""
    cpu: Counter[str] = Counter()
    wall: Counter[str] = Counter()
    for result in report.results:
        cpu.update(result.stages.cpu)
        wall.update(result.stages.wall)
    synthesized = max(1, report.count(TableStatus.SYNTHESIZED))
    total = sum(cpu.values())
    lines = [f"{'stage (per table)':<22}{'CPU s':>9}{'share':>8}{'CPU s/table':>13}{'wall s':>9}"]
    lines += [
        f"{name:<22}{seconds:>9.1f}{seconds / total:>8.0%}{seconds / synthesized:>13.3f}{wall[name]:>9.1f}"
        for name, seconds in cpu.most_common()
    ]
    lines.append(f"{'stage (calling process)':<22}{'CPU s':>9}{'':>8}{'':>13}{'wall s':>9}")
    lines += [
        f"{name:<22}{seconds:>9.1f}{'':>8}{'':>13}{report.stages.wall.get(name, 0.0):>9.1f}"
        for name, seconds in Counter(report.stages.cpu).most_common()
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
