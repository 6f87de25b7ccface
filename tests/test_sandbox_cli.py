"""``catalog-synth query``: the sandbox's checks and limits from the command line."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sandbox_support import people_frame, synthetic_table, write_store

from catalog_synth.entry.serve_commands import query_command

PEOPLE = people_frame(40)


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    write_store(tmp_path / "store.duckdb", [synthetic_table("public", "people", PEOPLE)])
    path = tmp_path / "catalog-synth.yml"
    path.write_text(
        "warehouses:\n  - name: wh\n    url: sqlite:///unused.db\nstore: store.duckdb\nsandbox:\n  row_limit: 25\n",
        encoding="utf-8",
    )
    return path


def test_query_prints_a_table(config_file: Path) -> None:
    result = CliRunner().invoke(
        query_command, ["-c", str(config_file), "SELECT id, name FROM people WHERE id <= 2 ORDER BY id"]
    )
    assert result.exit_code == 0, result.output
    assert PEOPLE.name[0] in result.output and PEOPLE.name[1] in result.output
    assert "2 rows" in result.output


def test_query_applies_the_row_limit(config_file: Path) -> None:
    result = CliRunner().invoke(query_command, ["-c", str(config_file), "SELECT id FROM people"])
    assert result.exit_code == 0, result.output
    assert "25 rows" in result.output and "truncated" in result.output


def test_query_refusal_is_a_one_line_error(config_file: Path) -> None:
    result = CliRunner().invoke(query_command, ["-c", str(config_file), "DROP TABLE people"])
    assert result.exit_code == 1
    assert "Error: only read-only queries are allowed" in result.output


def test_query_in_another_dialect(config_file: Path) -> None:
    result = CliRunner().invoke(
        query_command, ["-c", str(config_file), "--dialect", "snowflake", "SELECT IFF(1 > 0, 'yes', 'no') AS answer"]
    )
    assert result.exit_code == 0, result.output
    assert "yes" in result.output
