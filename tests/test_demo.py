"""README command 1: `catalog-synth demo` on an embedded warehouse, no server."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import duckdb

WIDTH = 100  # a terminal 100 columns wide
ENV = {"COLUMNS": str(WIDTH), "PATH": "/usr/bin:/bin"}  # the venv is not on PATH: not activated
ENV.update({"PYTHONPATH": os.environ["PYTHONPATH"]} if "PYTHONPATH" in os.environ else {})  # a worktree's code
DISTINCTIVE = ("email", "phone", "street_address", "iban", "credit_card_number")
IDENTIFYING = ("first_name", "last_name", "email", "phone", "street_address", "iban", "credit_card_number", "company")


def test_demo_runs_end_to_end_without_leaking(tmp_path: Path) -> None:
    target = tmp_path / "demo"
    done = subprocess.run(
        [sys.executable, "-m", "catalog_synth", "demo", "--dir", str(target)],
        capture_output=True,
        text=True,
        env=ENV,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "main.people (synthetic preview)" in out
    assert "avg_amount" in out and "delivered" in out  # the sample query's result
    assert str(target / "datahub-mcps.json") in out and str(target / "sandbox.duckdb") in out
    assert (target / "datahub-mcps.json").stat().st_size > 0
    check_messages(out)

    real = column_values(target / "warehouse.duckdb", "people")
    synthetic = column_values(target / "sandbox.duckdb", "people")
    for column in IDENTIFYING:
        shared = {v.strip().lower() for v in real[column]} & {v.strip().lower() for v in synthetic[column]}
        assert not shared, f"{len(shared)} real {column} values in the synthetic copy"
    printed = out + done.stderr + (target / "datahub-mcps.json").read_text()
    distinctive = [v for c in DISTINCTIVE for v in real[c] if len(v) >= 8]
    assert distinctive and not [v for v in distinctive if v in printed]


def check_messages(out: str) -> None:
    """It says why there are fewer synthetic people than real ones, its preview fits the
    terminal, and its closing hint runs as printed."""
    words = " ".join(out.split())
    assert "300 people" in words
    people = re.search(r"main\.people (\d+) of (\d+)", words)
    assert people and int(people.group(1)) < int(people.group(2)) == 300, words
    assert "copy_rows (1,000)" in words and "shrink together" in words
    # Each "why" is one line: the cap, then the tables that shrink with it (issue 23).
    why = [line for line in out.splitlines() if line.startswith("Why ")]
    assert len(why) == 2 and "caps every copy at copy_rows (1,000)" in why[0] and "main.people" in why[1], why
    assert all(f"{table} (" in words for table in ("people", "orders", "order_items", "products"))
    # It ends with the command that opens its sandbox, runnable as printed.
    last = out.strip().splitlines()[-1]
    assert last.startswith("Open its SQL sandbox (web page and API): ") and last.endswith("catalog-synth.yml")
    assert shlex.split(last.split(": ", 1)[1])[-3:-1] == ["serve", "-c"]
    preview = out[out.index("main.people (synthetic preview)") : out.index("Query on the synthetic copy")]
    assert "email" in preview and "loyalty_tier" in preview  # every column, turned to fit
    assert max(len(line) for line in preview.splitlines()) <= WIDTH
    (hint,) = [line.removeprefix("Try: ") for line in out.splitlines() if line.startswith("Try: ")]
    done = subprocess.run(shlex.split(hint), capture_output=True, text=True, env=ENV)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "main.orders (synthetic)" in done.stdout


def column_values(path: Path, table: str) -> dict[str, list[str]]:
    with duckdb.connect(str(path), read_only=True) as con:
        frame = con.execute(f"SELECT {', '.join(IDENTIFYING)} FROM main.{table}").df()
    return {c: [str(v) for v in frame[c].dropna()] for c in IDENTIFYING}
