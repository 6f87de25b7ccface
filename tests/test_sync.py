"""End-to-end sync on real PostgreSQL, SQLite and DuckDB sources, bad input included."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import sqlalchemy as sa
from scale_support import config_dict

from catalog_synth.core.config import Config, validate_config
from catalog_synth.core.types import TableStatus
from catalog_synth.entry.demo_data import build_demo_warehouse
from catalog_synth.run.sync import SyncReport, run_sync
from catalog_synth.store.copies import Store

DATAHUB = Path(sys.executable).with_name("datahub")


def make_config(tmp_path: Path, url: str, **overrides) -> Config:
    warehouse = overrides.pop("warehouse", None)
    settings = {"sample_rows": 500, "copy_rows": 150, "catalog": {"file": str(tmp_path / "mcps.json")}, "seed": 3}
    return validate_config(config_dict(url, tmp_path / "sandbox.duckdb", warehouse, **{**settings, **overrides}))


def by_table(report: SyncReport) -> dict[str, object]:
    return {r.ref.qualified: r for r in report.results}


def store_columns(store: Path, schema: str, table: str) -> dict[str, str]:
    with duckdb.connect(str(store), read_only=True) as con:
        rows = con.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = ? AND table_name = ?"
            " ORDER BY ordinal_position",
            [schema, table],
        ).fetchall()
    return dict(rows)


def check_metadata_file(path: Path) -> None:
    result = subprocess.run([str(DATAHUB), "check", "metadata-file", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def profiles(path: Path) -> dict[str, dict]:
    records = json.loads(path.read_text())
    return {r["entityUrn"]: r for r in records if r.get("aspectName") == "datasetProfile"}


def test_postgres_end_to_end(tmp_path: Path, pg_demo_url: str) -> None:
    config = make_config(tmp_path, pg_demo_url, warehouse={"include": ["public.*"]})
    report = run_sync(config)
    results = by_table(report)
    assert {k: v.status for k, v in results.items()} == {
        name: TableStatus.SYNTHESIZED for name in ("public.people", "public.orders", "public.products", "public.order_items")
    }, [(r.ref.qualified, r.reason) for r in report.results]
    assert not report.failed
    columns = store_columns(config.store, "public", "people")
    assert list(columns) == [c for c in ("id", "first_name", "last_name", "email", "phone", "street_address", "city",
                                         "postal_code", "country", "company", "iban", "credit_card_number", "birth_date",
                                         "salary", "signup_at", "is_active", "notes", "loyalty_tier") if c in columns]
    assert columns["birth_date"] == "DATE" and columns["salary"].startswith("DECIMAL") and columns["is_active"] == "BOOLEAN"
    assert columns["id"] in {"BIGINT", "INTEGER"} and columns["signup_at"] == "TIMESTAMP"
    stored = {t.logical_name: t for t in Store(config.store).tables()}
    # copy_rows (150) is below order_items' real rows: people -> orders -> order_items shrink together.
    assert max(t.row_count for t in stored.values()) <= 150
    assert stored["public.orders"].row_count / stored["public.people"].row_count == pytest.approx(3.0, rel=0.2)
    check_metadata_file(config.catalog.file)
    assert len(profiles(config.catalog.file)) == 4


def test_sqlite_end_to_end(tmp_path: Path) -> None:
    url = build_demo_warehouse(tmp_path / "w.sqlite", "sqlite", rows=120)
    config = make_config(tmp_path, url)
    report = run_sync(config)
    assert report.count(TableStatus.SYNTHESIZED) == 4, [(r.ref.qualified, r.reason) for r in report.results]
    stored = {t.logical_name: t for t in Store(config.store).tables()}
    assert max(t.row_count for t in stored.values()) <= 150  # copy_rows; the family tree is scaled together
    integrity = [entry["integrity"] for entry in stored["main.order_items"].relations]
    assert integrity == [1.0, 1.0]
    assert store_columns(config.store, "main", "orders")["amount"].startswith("DECIMAL")
    check_metadata_file(config.catalog.file)


def test_duckdb_end_to_end_and_incremental_rerun(tmp_path: Path) -> None:
    url = build_demo_warehouse(tmp_path / "w.duckdb", "duckdb", rows=120)
    config = make_config(tmp_path, url, warehouse={"include": ["main.people", "main.orders"]})
    first = run_sync(config)
    assert first.count(TableStatus.SYNTHESIZED) == 2, [(r.ref.qualified, r.reason) for r in first.results]
    again = run_sync(config)
    assert again.count(TableStatus.UNCHANGED) == 2
    forced = run_sync(config, full=True)
    assert forced.count(TableStatus.SYNTHESIZED) == 2
    check_metadata_file(config.catalog.file)


BAD_INPUT_DDL = """
CREATE TABLE empty_table (id int PRIMARY KEY, name text);
CREATE TABLE one_row (id int PRIMARY KEY, amount numeric(8,2));
INSERT INTO one_row VALUES (1, 10.50);
CREATE TABLE "select" (id int PRIMARY KEY, "größe" real, "catégorie" text, nothing text, weird jsonb,
                       tags text[], photo bytea, wait interval, spot point, ref uuid);
INSERT INTO "select" (id, "größe", "catégorie", weird, tags, photo, wait, spot, ref)
    SELECT i, i * 0.5, (ARRAY['a','b','c'])[1 + mod(i, 3)], '{"k": 1}', ARRAY['x'], '\\x00', interval '1 day',
           point(i, i), gen_random_uuid()
    FROM generate_series(1, 200) i;
CREATE TABLE soon_gone (id int PRIMARY KEY, v int);
INSERT INTO soon_gone SELECT i, i FROM generate_series(1, 50) i;
CREATE TABLE secret_stuff (id int PRIMARY KEY, v int);
INSERT INTO secret_stuff SELECT i, i FROM generate_series(1, 50) i;
CREATE ROLE limited LOGIN;
GRANT USAGE ON SCHEMA public TO limited;
GRANT SELECT ON empty_table, one_row, "select", soon_gone TO limited;
"""


def test_bad_input_never_stops_the_run(tmp_path: Path, pg_url: str) -> None:
    engine = sa.create_engine(pg_url)
    with engine.begin() as con:
        con.exec_driver_sql(BAD_INPUT_DDL)
    limited_url = sa.engine.make_url(pg_url).set(username="limited").render_as_string(hide_password=False)
    config = make_config(tmp_path, limited_url)

    def drop_soon_gone(_: int) -> None:  # between listing and reading
        with engine.begin() as con:
            con.exec_driver_sql("DROP TABLE soon_gone")

    from catalog_synth.run import sync as pipeline

    report = pipeline.run_sync(config, on_plan=drop_soon_gone)
    engine.dispose()
    results = by_table(report)
    assert results["public.empty_table"].status is TableStatus.SYNTHESIZED
    assert results["public.empty_table"].rows_written == 0 and "empty copy" in " ".join(results["public.empty_table"].notes)
    assert results["public.one_row"].status is TableStatus.SYNTHESIZED
    assert "generated column by column" in " ".join(results["public.one_row"].notes)
    assert results["public.soon_gone"].status is TableStatus.SKIPPED
    assert "no longer exists" in results["public.soon_gone"].reason
    assert results["public.secret_stuff"].status is TableStatus.FAILED
    assert "permission denied" in results["public.secret_stuff"].reason.lower()
    weird = results["public.select"]
    assert weird.status is TableStatus.SYNTHESIZED, weird.reason
    left_out = " ".join(weird.notes)
    for column in ("weird", "tags", "photo", "wait", "spot"):
        assert f"'{column}'" in left_out
    columns = store_columns(config.store, "public", "select")
    assert {"größe", "catégorie", "nothing", "ref"} <= set(columns) and "weird" not in columns
    assert columns["ref"] == "UUID"
    with duckdb.connect(str(config.store), read_only=True) as con:
        nulls, refs = con.execute('SELECT count(*) - count(nothing), count(DISTINCT ref) FROM public."select"').fetchone()
    assert nulls == 150 and refs == 150  # the all-null column stays null; uuids are fresh and unique
    assert report.failed


CLI = [sys.executable, "-m", "catalog_synth"]


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=cwd)


def test_sync_cli_summary_preview_and_exit_codes(tmp_path: Path) -> None:
    build_demo_warehouse(tmp_path / "w.sqlite", "sqlite", rows=60)
    con = sqlite3.connect(tmp_path / "w.sqlite")
    con.execute("CREATE TABLE empty_one (id INTEGER PRIMARY KEY)")
    con.commit()
    con.close()
    config_file = tmp_path / "catalog-synth.yml"
    config_file.write_text(
        f"warehouses:\n  - name: w\n    url: sqlite:///{tmp_path / 'w.sqlite'}\n"
        "    include: ['main.people', 'main.empty_one']\ncopy_rows: 50\nseed: 3\nexecutor:\n  workers: 1\n"
    )
    done = cli("sync", "-c", str(config_file), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "synthesized" in done.stdout and "empty copy" in done.stdout
    shown = cli("preview", "-c", str(config_file), "main.people")
    assert shown.returncode == 0 and "email" in shown.stdout
    missing = cli("preview", "-c", str(config_file), "main.nope")
    assert missing.returncode == 1 and "no synthetic table 'main.nope'" in missing.stderr

    broken = tmp_path / "broken.yml"
    broken.write_text(
        "warehouses:\n  - name: down\n    url: postgresql+psycopg://u:hunter2@127.0.0.1:1/db\n"
        f"store: {tmp_path / 'other.duckdb'}\n"
    )
    failed = cli("sync", "-c", str(broken))
    assert failed.returncode == 1
    summary = re.sub(r"[\s│]+", " ", failed.stdout)  # the summary table may wrap the reason
    assert summary.count("cannot list tables") == 1  # said once, with the warehouse's name
    assert "warehouse 'down': cannot list tables" in summary and "hunter2" not in failed.stdout + failed.stderr


def test_config_errors_are_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("warehouses:\n  - name: w\n    url: sqlite:///x.db\nsample_rows: many\n")
    done = cli("sync", "-c", str(bad))
    assert done.returncode == 1 and done.stderr.strip().splitlines()[-1].startswith("Error: config: sample_rows:")


class RefusingSink:
    """A third-party-style sink whose catalog refuses one table."""

    def __init__(self, refused: str):
        from catalog_synth.publish.sinks import SinkReport

        self.refused = refused
        self.report = SinkReport("refusing")

    def publish(self, table, location) -> None:
        key = str(table.ref)
        if table.ref.name == self.refused:
            self.report.failed[key] = "catalog answered 503"
        else:
            self.report.published.append(key)

    def close(self):
        return self.report


def test_a_table_the_catalog_refused_is_synthesized_again_next_run(tmp_path: Path) -> None:
    url = build_demo_warehouse(tmp_path / "w.sqlite", "sqlite", rows=60)
    config = make_config(tmp_path, url, warehouse={"include": ["main.people", "main.products"]})
    first = run_sync(config, sinks=[RefusingSink("products")])
    assert first.failed and first.count(TableStatus.SYNTHESIZED) == 2
    second = run_sync(config, sinks=[RefusingSink("nothing")])
    assert {k: v.status for k, v in by_table(second).items()} == {
        "main.people": TableStatus.UNCHANGED,
        "main.products": TableStatus.SYNTHESIZED,
    }
    assert run_sync(config, sinks=[]).count(TableStatus.UNCHANGED) == 2


def test_a_wrong_listing_never_empties_the_store(tmp_path: Path) -> None:
    """A mistyped SQLite path or an include glob matching nothing fails the run and keeps every copy;
    only a listing that found tables removes the copies of tables it no longer lists."""
    warehouse = tmp_path / "w.sqlite"
    build_demo_warehouse(warehouse, "sqlite", rows=40)

    def sync_with(url: str, include: list[str]) -> tuple[int, str]:
        """The exit code and the reasons the run report gives."""
        config_file = tmp_path / "catalog-synth.yml"
        config_file.write_text(json.dumps({
            "warehouses": [{"name": "w", "url": url, "include": include}], "copy_rows": 40, "seed": 2,
            "executor": {"workers": 1}, "store": "store.duckdb", "catalog": {"file": None},
        }))  # fmt: skip
        done = cli("sync", "-c", str(config_file), "--report", str(tmp_path / "run.json"), cwd=tmp_path)
        reasons = [t["reason"] for t in json.loads((tmp_path / "run.json").read_text())["tables"]]
        return done.returncode, " ".join(reasons)

    def stored() -> list[str]:
        return [t.logical_name for t in Store(tmp_path / "store.duckdb").tables()]

    assert sync_with(f"sqlite:///{warehouse}", ["main.*"])[0] == 0
    before = stored()
    assert len(before) >= 3
    typo = tmp_path / "w.sqlitee"
    assert sync_with(f"sqlite:///{typo}", ["main.*"]) == (1, f"warehouse 'w': sqlite database file {typo} does not exist")
    assert not typo.exists() and stored() == before
    code, reason = sync_with(f"sqlite:///{warehouse}", ["main.peple"])
    assert code == 1 and "no table matches include ['main.peple']" in reason and stored() == before
    assert sync_with(f"sqlite:///{warehouse}", ["main.people"])[0] == 0
    assert stored() == ["main.people"]
