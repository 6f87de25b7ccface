"""A new user's first hour (issue 23), command by command as a user types them:
init -> sync -> preview / query / report -> demo -> inspect."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from catalog_synth.core.config import parse_config
from catalog_synth.entry.cli import main
from catalog_synth.entry.demo_data import build_demo_warehouse

WORKTREE = Path(__file__).resolve().parents[1]


def cli(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    """The command as typed in a shell (``catalog-synth ...``), in ``cwd``."""
    environment = {**os.environ, "PYTHONPATH": str(WORKTREE), "COLUMNS": "200", **(env or {})}
    environment.pop("CATALOG_SYNTH_CONFIG", None)
    return subprocess.run(
        [sys.executable, "-m", "catalog_synth", *args], capture_output=True, text=True, cwd=cwd, env=environment,
        timeout=timeout,
    )


def one_line(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """A user's folder holding a small SQLite file of a sample database."""
    build_demo_warehouse(tmp_path / "shop.db", "sqlite", rows=40)
    return tmp_path


# -- 1. init writes a template that fits the URL; a listing that matches nothing names the schemas ----------


def test_init_with_a_sqlite_url_writes_main_and_the_first_sync_lists_tables(shop: Path) -> None:
    done = cli("init", "--url", "sqlite:///shop.db", cwd=shop)
    assert done.returncode == 0, done.stderr
    assert "for SQLite file (tables main.*)" in one_line(done.stdout)
    assert "Next: catalog-synth sync" in done.stdout
    text = (shop / "catalog-synth.yml").read_text()
    assert 'include: ["main.*"]' in text and "public." not in text
    assert "url: sqlite:///shop.db" in text
    (shop / "catalog-synth.yml").write_text(text + "executor: {workers: 1}\ncopy_rows: 60\nseed: 3\n")
    synced = cli("sync", cwd=shop)
    assert synced.returncode == 0, synced.stdout + synced.stderr
    assert "4 synthesized" in synced.stdout


def test_init_takes_the_url_from_the_environment_and_hides_its_password(tmp_path: Path) -> None:
    url = "postgresql+psycopg://analyst:hunter2@db.example.com:5432/shop"
    done = cli("init", cwd=tmp_path, env={"CATALOG_SYNTH_URL": url})
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "catalog-synth.yml").read_text()
    assert "hunter2" not in text + done.stdout + done.stderr
    assert "url: postgresql+psycopg://analyst:${SHOP_DB_PASSWORD}@db.example.com:5432/shop" in text
    assert 'include: ["public.*"]' in text
    assert "export it" in done.stdout and "SHOP_DB_PASSWORD" in done.stdout
    assert parse_config(text, {"SHOP_DB_PASSWORD": "x"}).warehouses[0].include == ["public.*"]


@pytest.mark.parametrize(
    ("url", "include", "relationships_note"),
    [
        ("duckdb:///warehouse.duckdb", "main.*", False),
        ("snowflake://me:${SNOW_PW}@acct/SALES/CRM?warehouse=WH", "crm.*", True),
        ("bigquery://my-project/analytics", "analytics.*", True),
        ("mysql+pymysql://me:${MY_PW}@db/shop", "shop.*", False),
    ],
)
def test_init_has_a_template_per_family(tmp_path: Path, url: str, include: str, relationships_note: bool) -> None:
    result = CliRunner().invoke(main, ["init", "--path", str(tmp_path / "c.yml"), "--url", url])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "c.yml").read_text()
    assert f'include: ["{include}"]' in text
    assert ("does not enforce foreign keys" in text) is relationships_note
    assert "#   - child:" in text  # relationships commented either way
    config = parse_config(text, {"SNOW_PW": "x", "MY_PW": "x"})
    assert config.warehouses[0].url.get_secret_value().startswith(url.split(":")[0])


def test_init_without_a_url_writes_the_postgres_example_and_says_how_to_set_it(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["init", "--path", str(tmp_path / "c.yml")], env={"CATALOG_SYNTH_URL": ""})
    assert result.exit_code == 0, result.output
    assert "init --force --url URL" in one_line(result.output)
    text = (tmp_path / "c.yml").read_text()
    assert 'include: ["public.*"]' in text


def test_init_names_the_datahub_token_variable_the_code_reads(tmp_path: Path) -> None:
    CliRunner().invoke(main, ["init", "--path", str(tmp_path / "c.yml"), "--url", "sqlite:///x.db"])
    text = (tmp_path / "c.yml").read_text()
    assert "${DATAHUB_GMS_TOKEN}" in text and "${DATAHUB_TOKEN}" not in text


def test_a_listing_that_matches_nothing_names_the_schemas_there_are(shop: Path) -> None:
    (shop / "catalog-synth.yml").write_text(
        'warehouses:\n  - name: shop\n    url: sqlite:///shop.db\n    include: ["public.*"]\n'
        "executor: {workers: 1}\n"
    )
    done = cli("sync", cwd=shop)
    assert done.returncode == 1
    assert "no table matches include ['public.*']" in one_line(done.stdout)
    assert 'the warehouse has schema main (4 tables): try include ["main.*"]' in one_line(done.stdout)


# -- 2. relative paths: URL files and `store` both from the config's folder; a failed run writes nothing ----


def test_a_relative_sqlite_url_is_read_from_the_config_folder_like_the_store(shop: Path, tmp_path_factory) -> None:
    (shop / "shop.db").rename(shop / "rel.sqlite")
    (shop / "catalog-synth.yml").write_text(
        'warehouses:\n  - name: shop\n    url: sqlite:///rel.sqlite\n    include: ["main.people"]\n'
        "store: out/sandbox.duckdb\ncopy_rows: 40\nexecutor: {workers: 1}\ncatalog: {file: null}\nseed: 3\n"
    )
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    done = cli("sync", "-c", str(shop / "catalog-synth.yml"), cwd=elsewhere)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (shop / "out" / "sandbox.duckdb").exists() and not list(elsewhere.iterdir())


def test_a_missing_relative_file_names_the_resolved_path_and_creates_nothing(tmp_path: Path, tmp_path_factory) -> None:
    (tmp_path / "catalog-synth.yml").write_text(
        "warehouses:\n  - name: shop\n    url: sqlite:///rel.sqlite\nexecutor: {workers: 1}\n"
    )
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    typed = os.path.relpath(tmp_path / "catalog-synth.yml", elsewhere)  # ../test_a_missing.../catalog-synth.yml
    done = cli("sync", "-c", typed, cwd=elsewhere)
    assert done.returncode == 1
    assert f"sqlite database file {tmp_path / 'rel.sqlite'} does not exist" in one_line(done.stdout)
    assert "nothing stored, no store written" in one_line(done.stdout)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["catalog-synth.yml"]
    assert not list(elsewhere.iterdir())


# -- 5. commands that read only the store need no warehouse secret ------------------------------------------


@pytest.fixture
def stored(tmp_path: Path) -> Path:
    """A synced store whose config reads the warehouse password from an unset variable."""
    from sandbox_support import people_frame, synthetic_table, write_store

    write_store(tmp_path / "store.duckdb", [synthetic_table("public", "customer", people_frame(30))])
    config = tmp_path / "catalog-synth.yml"
    config.write_text(
        "warehouses:\n  - name: shop\n    url: postgresql+psycopg://analyst:${SHOP_DB_PASSWORD}@db:5432/shop\n"
        "store: store.duckdb\n"
    )
    return config


@pytest.mark.parametrize(
    "argv",
    [["preview", "public.customer"], ["query", "SELECT count(*) AS n FROM customer"], ["report", "public.customer"]],
)
def test_store_only_commands_need_no_warehouse_password(stored: Path, argv: list[str]) -> None:
    result = CliRunner(env={"SHOP_DB_PASSWORD": None}).invoke(main, [argv[0], "-c", str(stored), *argv[1:]])
    assert result.exit_code == 0, result.output


def test_sync_still_needs_the_warehouse_password(stored: Path) -> None:
    result = CliRunner(env={"SHOP_DB_PASSWORD": None}).invoke(main, ["sync", "-c", str(stored)])
    assert result.exit_code == 1
    assert result.output.strip() == "Error: config: line 3: environment variable ${SHOP_DB_PASSWORD} is not set"


# -- 3. query errors name the position and the word, never a parser class -----------------------------------

PARSE_ERRORS = [
    ("SELECT 2 * FROM customer", "line 1, column 12, at 'FROM': '*' needs a value after it"),
    ("SELECT id FROM customer WHERE", "line 1, column 25, at 'WHERE': WHERE needs a condition after it"),
    ("SELECT (id FROM customer", "line 1, column 12, at 'FROM': a '(' is not closed"),
    ("SELECT id\nFROM customer WHERE name = 'x", "line 2, column 28: the quote ' opened here is not closed"),
    ("SELECT id FROM", "expected a table name, but the query ends here"),
]


@pytest.mark.parametrize(("sql", "expected"), PARSE_ERRORS)
def test_a_query_that_does_not_parse_says_where_in_words(stored: Path, sql: str, expected: str) -> None:
    result = CliRunner().invoke(main, ["query", "-c", str(stored), sql])
    assert result.exit_code == 1
    assert expected in one_line(result.output), result.output
    assert "<class" not in result.output and "sqlglot" not in result.output and "Token" not in result.output


def test_the_http_api_and_the_page_get_the_same_words(stored: Path) -> None:
    import httpx
    from sandbox_support import running_server

    from catalog_synth.core.config import load_config
    from catalog_synth.serve.app import create_app

    with running_server(create_app(load_config(stored, store_only=True))) as url:
        answer = httpx.post(f"{url}/api/query", json={"sql": "SELECT 2 * FROM customer"}, timeout=30)
    assert answer.status_code == 400
    message = answer.json()["error"]["message"]
    assert message.startswith("could not parse the query as postgres SQL: ")  # the warehouse's dialect
    assert message.endswith("line 1, column 12, at 'FROM': '*' needs a value after it")


# -- 4. preview fits the terminal, takes query's table names; CLI errors give CLI advice ------------------


@pytest.fixture
def wide(tmp_path: Path) -> Path:
    """A store holding one wide table (18 columns, 5 preview rows)."""
    import pandas as pd
    from sandbox_support import synthetic_table, write_store

    frame = pd.DataFrame({f"column_{i:02d}": [f"value-{i}-{row}-of-a-wide-table" for row in range(30)] for i in range(18)})
    write_store(tmp_path / "store.duckdb", [synthetic_table("main", "customer", frame)])
    config = tmp_path / "catalog-synth.yml"
    config.write_text("warehouses:\n  - name: shop\n    url: sqlite:///shop.db\nstore: store.duckdb\n")
    return config


def preview(config: Path, *args: str, width: int = 80) -> subprocess.CompletedProcess:
    return cli("preview", "-c", str(config), *args, cwd=config.parent, env={"COLUMNS": str(width)})


def test_preview_in_80_columns_says_how_to_see_more(wide: Path) -> None:
    done = preview(wide, "main.customer")
    assert done.returncode == 0, done.stderr
    assert max(map(len, done.stdout.splitlines())) <= 80
    assert "rows fit in 80 columns; to see more: catalog-synth preview main.customer --vertical" in one_line(done.stdout)


def test_preview_takes_the_table_names_query_takes(wide: Path) -> None:
    for name in ("customer", "CUSTOMER", "main.customer", "wh.main.customer"):
        done = preview(wide, name, "--rows", "2", "--columns", "column_00,column_17")
        assert done.returncode == 0, (name, done.stdout, done.stderr)
        lines = done.stdout.splitlines()
        assert "value-0-1-" in done.stdout and "value-17-1-" in done.stdout and "value-3-0" not in done.stdout
        assert "column_00" in lines[2] and "column_17" in lines[2]  # rows as rows: they fit


def test_preview_vertical_shows_every_row_in_any_width(wide: Path) -> None:
    done = preview(wide, "customer", "--vertical", width=40)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("-[ row ") == 5 and "value-17-4-of-a-wide-table" in done.stdout
    assert "to see more" not in done.stdout


def test_preview_of_an_unknown_column_lists_the_columns(wide: Path) -> None:
    done = preview(wide, "customer", "--columns", "colum_00")
    assert done.returncode == 1
    assert "no column 'colum_00' in this table (columns: column_00, column_01" in one_line(done.stderr)


def test_query_of_an_unknown_table_gives_cli_advice(wide: Path) -> None:
    result = CliRunner().invoke(main, ["query", "-c", str(wide), "SELECT * FROM customers"])
    assert result.exit_code == 1
    assert "/api/tables" not in result.output
    assert "synthetic tables: main.customer; `catalog-synth preview TABLE` shows one" in one_line(result.output)


# -- 9. inspect: what DataHub will show, from the catalog file; the same file read back by DataHub Lite ------

DATAHUB = Path(sys.executable).with_name("datahub")
PEOPLE_URN = "urn:li:dataset:(urn:li:dataPlatform:sqlite,main.people,PROD)"


@pytest.fixture(scope="module")
def synced_shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """init --url sqlite:///shop.db, then sync, as a user types them; returns the folder."""
    folder = tmp_path_factory.mktemp("shop")
    build_demo_warehouse(folder / "shop.db", "sqlite", rows=60)
    assert cli("init", "--url", "sqlite:///shop.db", cwd=folder).returncode == 0
    config = folder / "catalog-synth.yml"
    config.write_text(config.read_text() + "executor: {workers: 1}\nseed: 5\n")
    done = cli("sync", cwd=folder)
    assert done.returncode == 0, done.stdout + done.stderr
    return folder


def test_inspect_lists_the_datasets_and_shows_a_tables_sample_values(synced_shop: Path) -> None:
    import json

    from catalog_synth.core.config import load_config
    from catalog_synth.store.copies import Store

    listing = cli("inspect", cwd=synced_shop)
    assert listing.returncode == 0, listing.stderr
    assert all(name in listing.stdout for name in ("main.people", "main.orders", "main.products", "main.order_items"))
    shown = cli("inspect", "people", cwd=synced_shop)
    assert shown.returncode == 0, shown.stderr
    assert PEOPLE_URN in shown.stdout and "synthetic-sample" in shown.stdout
    assert "Sample values per column, as DataHub shows them" in shown.stdout
    dataset = json.loads(cli("inspect", "main.people", "--json", cwd=synced_shop).stdout)
    copy = Store(load_config(synced_shop / "catalog-synth.yml").store).preview("main.people", 3)
    assert dataset["columns"]["email"]["sampleValues"][:3] == list(copy.email)  # the synthetic copy's rows
    assert dataset["columns"]["first_name"]["sampleValues"][0] in shown.stdout


@pytest.mark.skipif(not DATAHUB.exists(), reason="acryl-datahub's CLI is not installed")
def test_the_catalog_file_round_trips_through_datahub_lite(synced_shop: Path, tmp_path: Path) -> None:
    """DataHub's own embedded catalog (acryl-datahub's `datahub lite`) loads the file the sync wrote
    and serves back the synthetic sample values `inspect` shows. Lite needs a ~/.datahubenv before its
    first command: it gets one in a temporary HOME, never the user's."""
    import json

    env = {**os.environ, "HOME": str(tmp_path), "DATAHUB_TELEMETRY_ENABLED": "false"}
    env.pop("DATAHUB_CONFIG_PATH", None)
    (tmp_path / ".datahubenv").write_text('gms:\n  server: http://localhost:8080\n  token: ""\n')

    def lite(*args: str, stdin: str | None = None) -> str:
        done = subprocess.run([str(DATAHUB), "lite", *args], capture_output=True, text=True, env=env,
                              input=stdin, timeout=300, cwd=tmp_path)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        return done.stdout

    catalog_file = synced_shop / ".catalog-synth" / "datahub-mcps.json"
    lite("init", stdin="y\n")
    lite("import", "--file", str(catalog_file))
    assert PEOPLE_URN in lite("list-urns")
    got = json.loads(lite("get", "--urn", PEOPLE_URN, "-a", "datasetProfile"))
    from_lite = {field["fieldPath"]: field.get("sampleValues") for field in got["datasetProfile"]["fieldProfiles"]}
    inspected = json.loads(cli("inspect", "people", "--json", cwd=synced_shop).stdout)
    assert from_lite == {name: column.get("sampleValues") for name, column in inspected["columns"].items()}
    assert from_lite["email"] and all("@" in value for value in from_lite["email"])


# -- 7. report: real figures from the warehouse where it has them; what drags a low score down ---------------


def test_report_gives_whole_table_children_per_parent_and_what_drags_quality_down(synced_shop: Path) -> None:
    import json
    import sqlite3

    with sqlite3.connect(synced_shop / "shop.db") as con:
        orders, people = (con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("orders", "people"))
    done = cli("report", "orders", cwd=synced_shop)
    assert done.returncode == 0, done.stderr
    assert f"{orders / people:.3f} vs " in done.stdout  # the real tables' figure, not the sample's
    stored = json.loads(cli("report", "orders", "--json", cwd=synced_shop).stdout)
    (relation,) = stored["relations"]
    assert relation["children_per_parent"]["real_table_mean"] == round(orders / people, 3)
    weakest = stored["quality"]["weakest"]
    assert weakest["columns"] and weakest["pairs"]
    assert all(set(entry) == {"column", "score"} for entry in weakest["columns"])  # names and scores only
    if stored["quality"]["overall"] < 0.8:
        lowest = weakest["columns"][0]
        assert f"lowest column shapes (vs the real sample): {lowest['column']} {lowest['score']:.2f}" in one_line(done.stdout)


def test_report_says_from_the_sample_where_the_warehouse_gave_no_figure() -> None:
    from catalog_synth.entry.reporting import _children_per_parent, weakest_lines

    assert _children_per_parent({"real_mean": 6.0, "synthetic_mean": 7.375}) == "6.000 (from the sample) vs 7.375"
    assert _children_per_parent({"real_mean": 6.0, "real_table_mean": 7.375, "synthetic_mean": 7.375}) == "7.375 vs 7.375"
    quality = {"overall": 0.55, "weakest": {"columns": [{"column": "total", "score": 0.41}],
                                            "pairs": [{"columns": ["total", "billingcountry"], "score": 0.3}]}}
    assert weakest_lines(quality) == ["  lowest column shapes (vs the real sample): total 0.41",
                                      "  lowest pair trends: total × billingcountry 0.30"]
    assert weakest_lines({**quality, "overall": 0.9}) == []


# -- 8. .ci/install says what it installs system-wide first, and keeps the venv CPU-only and lean -----------

FAKE_PYTHON = """#!/bin/bash
echo "python $*" >> "$CALLS"
case "$1" in
  --version) echo "Python 3.11.7" ;;
  -m) if [ "$2" = venv ]; then mkdir -p "$3/bin" && cp "$0" "$3/bin/python"; fi
      if [ "$2" = pip ] && [ "$3" = list ]; then printf 'torch==2.13.0+cpu\\ntriton==3.9.0\\nnvidia-cublas-cu12==12.8\\n'; fi ;;
  -c) exit 0 ;;  # torch.version.cuda is None: a CPU torch
esac
"""


def test_install_announces_system_packages_first_and_drops_gpu_only_packages(tmp_path: Path) -> None:
    """`bash .ci/install --test` with a stand-in python (no packages are installed): the order of
    its steps, and the pip commands it runs."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("python3.11", "apt-get"):
        (bin_dir / name).write_text(FAKE_PYTHON if name.startswith("python") else '#!/bin/bash\necho "apt-get $*" >> "$CALLS"\n')
        (bin_dir / name).chmod(0o755)
    calls = tmp_path / "calls.log"
    env = {**os.environ, "PATH": f"{bin_dir}:/usr/bin:/bin", "CALLS": str(calls), "VENV": str(tmp_path / "venv")}
    done = subprocess.run(["bash", ".ci/install", "--test"], cwd=WORKTREE, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert out.index("==> System-wide: ") < out.index("==> Creating the virtualenv")
    assert "Removing GPU-only packages a CPU torch never uses: triton nvidia-cublas-cu12" in out
    pip = [line for line in calls.read_text().splitlines() if " pip " in line]
    assert "python -m pip install -e .[test]" in pip
    assert pip.index("python -m pip uninstall -y torchvision torchaudio") > pip.index("python -m pip install -e .[test]")
    assert pip.index("python -m pip uninstall -y triton nvidia-cublas-cu12") > pip.index("python -m pip install -e .[test]")
    assert "virtualenv size: " in out
