"""Stage accounts: exclusive stages that add up, nested accounts, and the stages of a real sync."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from scale_support import config_dict

from catalog_synth.core.config import validate_config
from catalog_synth.core.timings import OTHER, collect, stage
from catalog_synth.core.types import TableStatus
from catalog_synth.entry.demo_data import build_demo_warehouse
from catalog_synth.run.sync import run_sync


def busy(rounds: int = 200_000) -> int:
    return sum(i * i for i in range(rounds))


def test_stages_do_not_overlap_and_add_up_to_the_account() -> None:
    started = time.perf_counter()
    with collect() as outer:
        busy()
        with stage("a"):
            busy()
            with stage("b"):
                busy()
            busy()
        with collect() as inner:  # e.g. a table handled inside a run: charged to the table only
            with stage("c"):
                busy()
    elapsed = time.perf_counter() - started
    assert set(outer.wall) == {OTHER, "a", "b"} and set(inner.wall) == {OTHER, "c"}
    assert sum(outer.wall.values()) + sum(inner.wall.values()) == pytest.approx(elapsed, rel=0.05)
    assert outer.peak_rss_mb > 0
    with stage("nowhere"):  # outside any account nothing is recorded
        busy()
    outer.add(inner)
    assert set(outer.cpu) == {OTHER, "a", "b", "c"}


def test_a_sync_reports_where_each_table_time_went(tmp_path: Path) -> None:
    url = build_demo_warehouse(tmp_path / "w.sqlite", "sqlite", rows=120)
    raw = config_dict(url, tmp_path / "sandbox.duckdb", {"include": ["main.people", "main.orders"]}, seed=3)
    report = run_sync(validate_config(raw), sinks=[])
    assert report.count(TableStatus.SYNTHESIZED) == 2, report.as_dict()
    for result in report.results:
        assert {"sample", "classify", "model", "fakes", "gate", "quality", "store"} <= set(result.stages.cpu)
        assert result.as_dict()["stages"]["cpu"]["model"] > 0
    assert {"plan", "publish"} <= set(report.as_dict()["stages"]["wall"])
