"""CLI messages: logging options anywhere on the line, `serve --help` settings, wide previews."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from rich.console import Console
from sandbox_support import people_frame, synthetic_table, write_store

from catalog_synth.core.sections import SandboxConfig
from catalog_synth.entry.cli import main
from catalog_synth.entry.output import frame_table


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    write_store(tmp_path / "store.duckdb", [synthetic_table("public", "people", people_frame(12))])
    path = tmp_path / "catalog-synth.yml"
    path.write_text("warehouses:\n  - name: wh\n    url: sqlite:///unused.db\nstore: store.duckdb\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("command", sorted(main.list_commands(None)))  # type: ignore[arg-type]
def test_every_command_takes_the_logging_options_after_it(command: str) -> None:
    result = CliRunner().invoke(main, [command, "-v", "--log-json", "--help"])
    assert result.exit_code == 0, result.output
    assert "--log-json" in result.output and "--verbose" in result.output


def test_logging_options_after_the_command_take_effect(config_file: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "catalog_synth", "query", "-c", str(config_file), "SELECT 1 AS one", "-v", "--log-json"],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stderr.splitlines()]
    assert any(line["level"] == "info" and line["logger"].startswith("catalog_synth.") for line in lines), lines


def test_logging_options_before_the_command_still_work(config_file: Path) -> None:
    result = CliRunner().invoke(main, ["-v", "--log-json", "preview", "-c", str(config_file), "public.people"])
    assert result.exit_code == 0, result.output


def test_serve_help_lists_every_sandbox_setting_with_its_default() -> None:
    result = CliRunner().invoke(main, ["serve", "--help"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    for name, field in SandboxConfig.model_fields.items():
        assert field.description, f"sandbox.{name} has no description to show"
        assert f"sandbox.{name} {field.description.split()[0]}" in text, name
    assert "sandbox.max_concurrent_queries Queries running at once, all clients together. Default: 8." in text
    assert "sandbox.max_queries_per_client" in text and "HTTP 429" in text


def rendered(frame: pd.DataFrame, width: int) -> list[str]:
    console = Console(width=width, file=io.StringIO(), color_system=None)
    console.print(frame_table(frame, title="t (synthetic)", width=width))
    return console.file.getvalue().splitlines()


def test_a_preview_wider_than_the_terminal_is_turned_to_fit() -> None:
    frame = pd.DataFrame({f"column_{i:02d}": [f"value-{i}-{row}" for row in range(4)] for i in range(30)})
    lines = rendered(frame, 80)
    assert max(len(line) for line in lines) <= 80
    assert "a line per column" in lines[0]
    text = "\n".join(lines)
    assert all(f"column_{i:02d}" in text for i in range(30))  # every column, one line each
    assert "value-29-0" in text


def test_a_preview_that_fits_keeps_its_rows_as_rows() -> None:
    frame = pd.DataFrame({"id": [1, 2], "name": ["[bold]x[/]", None]})
    lines = rendered(frame, 80)
    assert "a line per column" not in lines[0]
    assert any("[bold]x[/]" in line for line in lines)  # values are text, never rich markup
