"""The connector contract: declared capabilities, and what a sync does without them.

A third-party connector that only lists, describes and samples must not silently weaken the
privacy checks: its tables are refused, with the reason, unless the config accepts checks
against the sample only, and then the table's result and ``report`` say what was not done.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from scale_support import config_dict, write_config

from catalog_synth.core.config import validate_config
from catalog_synth.core.types import ColumnInfo, ColumnKind, TableRef, TableStatus
from catalog_synth.entry.cli import main as cli
from catalog_synth.entry.demo_data import build_demo_warehouse
from catalog_synth.run.sync import run_sync
from catalog_synth.store.copies import Store
from connectors import Capability, CapabilityMissing, Connector, open_connector
from connectors.sqlalchemy import SQLAlchemyConnector


class SampleOnlyConnector(Connector):
    """A minimal third-party connector: it lists, describes and samples through the SQLite one,
    and declares nothing else."""

    def __init__(self, name: str, url: str):
        super().__init__(name, url)
        self._inner = open_connector(name, "sqlalchemy", url)
        self.platform, self.dialect, self.database = self._inner.platform, self._inner.dialect, self._inner.database

    def list_tables(self, include: list[str], exclude: list[str]) -> list[TableRef]:
        return self._inner.list_tables(include, exclude)

    def describe(self, ref: TableRef):
        return self._inner.describe(ref)

    def sample(self, info, rows: int, seed: int | None = None) -> pd.DataFrame:
        return self._inner.sample(info, rows, seed)

    def close(self) -> None:
        self._inner.close()


@pytest.fixture
def sample_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Warehouses open through :class:`SampleOnlyConnector` (as an installed plugin would)."""
    monkeypatch.setattr(
        "catalog_synth.run.connections.open_connector", lambda name, _kind, url: SampleOnlyConnector(name, url)
    )


def _config(tmp_path: Path, include: tuple[str, ...] = ("main.people",), **privacy: object):
    url = build_demo_warehouse(tmp_path / "shop.sqlite", "sqlite", rows=60)
    settings = {"sample_rows": 60, "copy_rows": 40, "seed": 5, "privacy": privacy}
    return validate_config(config_dict(url, tmp_path / "store.duckdb", {"include": list(include)}, **settings))


def test_the_sqlalchemy_connector_declares_every_capability() -> None:
    assert SQLAlchemyConnector.capabilities == frozenset(Capability)


def test_an_undeclared_capability_raises_a_named_error(tmp_path: Path) -> None:
    url = build_demo_warehouse(tmp_path / "shop.sqlite", "sqlite", rows=20)
    with SampleOnlyConnector("w", url) as connector:
        assert not connector.supports(Capability.VALUE_COUNTS)
        with pytest.raises(CapabilityMissing, match="does not offer value_counts"):
            connector.count_values(
                TableRef("w", "main", "people"), ColumnInfo("email", "text", ColumnKind.STRING), ["x"]
            )


def test_a_table_is_refused_without_whole_column_checks(tmp_path: Path, sample_only: None) -> None:
    report = run_sync(_config(tmp_path))
    [result] = report.results
    assert result.status is TableStatus.SKIPPED
    assert "offers no whole-column value counts" in result.reason
    assert "privacy.allow_sample_only_checks" in result.reason
    store = Store(tmp_path / "store.duckdb")
    assert not store.exists() or "main.people" not in [stored.logical_name for stored in store.tables()]


def test_sample_only_checks_when_accepted_are_said_in_the_result_and_report(tmp_path: Path, sample_only: None) -> None:
    config = _config(tmp_path, allow_sample_only_checks=True)
    [result] = run_sync(config).results
    assert result.status is TableStatus.SYNTHESIZED
    note = "connector 'sqlalchemy' offers no whole-column value counts: fakes and keys were checked against the sample only"
    assert note in result.notes
    shown = CliRunner().invoke(cli, ["report", "-c", str(write_config(tmp_path / "c.yml", config)), "main.people"])
    assert shown.exit_code == 0, shown.output
    assert "checked against the sample only" in " ".join(shown.output.split())


def test_without_family_samples_children_per_parent_are_said_not_measured(tmp_path: Path, sample_only: None) -> None:
    config = _config(tmp_path, ("main.people", "main.orders"), allow_sample_only_checks=True)
    results = {result.ref.qualified: result for result in run_sync(config).results}
    assert results["main.orders"].status is TableStatus.SYNTHESIZED
    assert "the connector cannot read related rows: children per parent are not measured" in results["main.orders"].notes
    # nor count rows obeying a rule (ordered_at after the customer's signup, a copied country)
    note = "the connector cannot count rows obeying a rule: schema-wide rules were not looked for"
    assert note in results["main.orders"].notes
