"""A command pays only for what it uses: the light commands and a no-change sync never
import SDV, SDMetrics, torch or scipy, and a no-change sync starts no worker process and
imports nothing a table's work needs (pandas, numpy, Faker, DataHub's SDK): it ends with
planning.

Each check runs the real CLI in a fresh interpreter and reads its ``sys.modules``
(timings live in ``bench/cli_startup.py``, not here).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from catalog_synth.core.config import load_config
from catalog_synth.core.types import TableStatus
from catalog_synth.entry.cli import with_executor_options
from catalog_synth.entry.demo_data import build_demo_warehouse
from catalog_synth.run.sync import run_sync

HEAVY = ("sdv", "sdmetrics", "torch", "scipy")
# What only a table that changed needs: frames, fakes, and the catalog's client to publish it.
TABLE_WORK = ("pandas", "numpy", "faker", "datahub", "pyarrow")
# Runs each command line (a JSON list of argv lists) in turn in this interpreter and prints,
# after each, the heavy packages imported so far and the processes it left running.
PROBE = """
import json, sys
import psutil
from catalog_synth.entry.cli import main

heavy, seen = set(sys.argv[1].split(",")), {}
for argv in json.loads(sys.argv[2]):
    try:
        main(argv, standalone_mode=False)
    except SystemExit as exit:
        assert not exit.code, (argv, exit.code)
    seen[" ".join(argv)] = {
        "heavy": sorted({name.split(".")[0] for name in sys.modules} & heavy),
        "children": [child.name() for child in psutil.Process().children(recursive=True)],
    }
print(json.dumps(seen))
"""


def synced_config(folder: Path, kind: str) -> Path:
    """A config over a small SQLite or DuckDB warehouse, synced once (in this process)."""
    url = build_demo_warehouse(folder / f"warehouse.{kind}", kind, rows=40)
    config_file = folder / "catalog-synth.yml"
    config_file.write_text(
        f"warehouses:\n  - name: wh\n    url: {url}\nsample_rows: 200\ncopy_rows: 60\nseed: 5\n"
        "store: store.duckdb\ncatalog:\n  file: mcps.json\n",
        encoding="utf-8",
    )
    report = run_sync(with_executor_options(load_config(config_file), None, None, 1))
    assert report.count(TableStatus.SYNTHESIZED) == 4, [(r.ref, r.reason) for r in report.results]
    return config_file


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synced_config(tmp_path_factory.mktemp("cli-imports"), "sqlite")


def probe(argvs: list[list[str]], cwd: Path, heavy: tuple[str, ...] = HEAVY) -> dict[str, dict[str, list[str]]]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, ",".join(heavy), json.dumps(argvs)],
        capture_output=True, text=True, cwd=cwd, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_light_commands_import_no_synthesis_library(synced: Path) -> None:
    config = str(synced)
    commands = [
        ["--help"],
        ["serve", "--help"],
        ["init", "--path", str(synced.parent / "starter.yml")],
        ["preview", "-c", config, "main.people"],
        ["query", "-c", config, "SELECT count(*) FROM people"],
        ["report", "-c", config, "main.people"],
        ["inspect", "-c", config, "main.people"],
        ["keys", "-c", config],
    ]
    seen = probe(commands, synced.parent)
    assert list(seen) == [" ".join(argv) for argv in commands]
    assert {command: after["heavy"] for command, after in seen.items() if after["heavy"]} == {}


def test_a_no_change_sync_imports_no_synthesis_library_and_starts_no_worker(synced: Path) -> None:
    seen = probe([["sync", "-c", str(synced), "--report", str(synced.parent / "run.json")]], synced.parent)
    run = json.loads((synced.parent / "run.json").read_text())
    assert run["counts"]["unchanged"] == 4 and run["counts"]["synthesized"] == 0
    (after,) = seen.values()
    assert after["heavy"] == []
    assert after["children"] == []  # not even the fork server that preloads SDV for workers


@pytest.mark.parametrize("kind", ["sqlite", "duckdb"])
def test_a_no_change_sync_ends_with_planning(kind: str, tmp_path: Path) -> None:
    """Nothing changed: no frame, fake or catalog client is loaded, and the catalog file stays as
    it was; a changed table then loads them again and is published."""
    config = synced_config(tmp_path, kind)
    catalog = tmp_path / "mcps.json"
    written = catalog.read_bytes()
    seen = probe([["sync", "-c", str(config), "--report", str(tmp_path / "run.json")]], tmp_path, HEAVY + TABLE_WORK)
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["counts"]["unchanged"] == 4 and run["counts"]["synthesized"] == 0
    assert [after["heavy"] for after in seen.values()] == [[]]
    assert catalog.read_bytes() == written

    seen = probe([["sync", "-c", str(config), "--full", "--report", str(tmp_path / "run.json")]], tmp_path, TABLE_WORK)
    assert json.loads((tmp_path / "run.json").read_text())["counts"]["synthesized"] == 4
    assert [after["heavy"] for after in seen.values()] == [sorted(TABLE_WORK)]
