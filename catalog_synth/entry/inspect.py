"""``catalog-synth inspect``: what DataHub will show for each dataset, read from the catalog file.

The file sink's metadata change proposals are what DataHub ingests: per dataset a
``datasetProfile`` (row count, per-column statistics and ``sampleValues``, the values DataHub's
Stats tab shows), a ``synthetic-sample`` tag and custom properties (PATCH). This reads them
back without a DataHub server. ``datahub lite import --file`` loads the same file into DataHub's
own embedded catalog (see README).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from catalog_synth.entry.common import config_option, load_or_exit


class InspectError(ValueError):
    """The catalog file cannot be read, or names no such dataset."""


@dataclass
class DatasetView:
    """One dataset as the catalog file describes it."""

    urn: str
    profile: dict[str, Any] | None = None
    tags: list[str] = field(default_factory=list)
    properties: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """``main.people`` out of ``urn:li:dataset:(urn:li:dataPlatform:sqlite,main.people,PROD)``."""
        inner = self.urn[self.urn.find("(") + 1 : self.urn.rfind(")")]
        parts = inner.split(",")
        return ",".join(parts[1:-1]) if len(parts) >= 3 else self.urn

    @property
    def platform(self) -> str:
        inner = self.urn[self.urn.find("(") + 1 :]
        return inner.split(",")[0].removeprefix("urn:li:dataPlatform:")

    def columns(self) -> list[dict[str, Any]]:
        return list((self.profile or {}).get("fieldProfiles") or [])

    def as_dict(self) -> dict[str, Any]:
        return {
            "urn": self.urn,
            "name": self.name,
            "row_count": (self.profile or {}).get("rowCount"),
            "tags": self.tags,
            "properties": self.properties,
            "columns": {
                column["fieldPath"]: {key: value for key, value in column.items() if key != "fieldPath"}
                for column in self.columns()
            },
        }


def read_catalog_file(path: Path) -> dict[str, DatasetView]:
    """Every dataset in a file-sink output, by URN (the last profile written wins)."""
    try:
        records = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InspectError(f"no catalog file at {path}: run 'catalog-synth sync' first") from None
    except (OSError, ValueError) as exc:
        raise InspectError(f"cannot read the catalog file {path} ({type(exc).__name__})") from None
    if not isinstance(records, list):
        raise InspectError(f"{path} is not a DataHub file-sink output (a JSON list of proposals)")
    datasets: dict[str, DatasetView] = {}
    for record in records:
        if not isinstance(record, dict) or record.get("entityType", "dataset") != "dataset":
            continue
        urn = record.get("entityUrn")
        if not urn:
            continue
        view = datasets.setdefault(urn, DatasetView(urn))
        value = _aspect_value(record.get("aspect"))
        name = record.get("aspectName")
        if name == "datasetProfile" and isinstance(value, dict):
            if view.profile is None or value.get("timestampMillis", 0) >= view.profile.get("timestampMillis", 0):
                view.profile = value
        elif name == "globalTags":
            view.tags.extend(_patched_tags(value))
        elif name == "datasetProperties":
            view.properties.update(_patched_properties(value))
    return datasets


def _aspect_value(aspect: Any) -> Any:
    if not isinstance(aspect, dict):
        return None
    if "json" in aspect:
        return aspect["json"]
    value = aspect.get("value")
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def _patch_ops(value: Any) -> list[dict]:
    ops = value.get("patch") if isinstance(value, dict) else value
    return [op for op in ops or [] if isinstance(op, dict)]


def _patched_tags(value: Any) -> list[str]:
    if isinstance(value, dict) and "tags" in value:  # an UPSERT
        return [str(tag.get("tag", "")).removeprefix("urn:li:tag:") for tag in value["tags"]]
    return [
        str((op.get("value") or {}).get("tag", "")).removeprefix("urn:li:tag:")
        for op in _patch_ops(value)
        if op.get("op") == "add" and isinstance(op.get("value"), dict)
    ]


def _patched_properties(value: Any) -> dict[str, str]:
    if isinstance(value, dict) and "customProperties" in value:  # an UPSERT
        return {str(k): str(v) for k, v in value["customProperties"].items()}
    prefix = "/customProperties/"
    return {
        op["path"][len(prefix) :]: str(op.get("value"))
        for op in _patch_ops(value)
        if op.get("op") == "add" and str(op.get("path", "")).startswith(prefix)
    }


def find_dataset(datasets: dict[str, DatasetView], table: str) -> DatasetView:
    """The dataset whose name ends with ``table``'s parts (``people``, ``main.people``), or its URN."""
    if table in datasets:
        return datasets[table]
    wanted = [part.lower() for part in table.split(".")]
    matches = [view for view in datasets.values() if view.name.lower().split(".")[-len(wanted) :] == wanted]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise InspectError(f"{table!r} is ambiguous: write one of {', '.join(view.name for view in matches)}")
    known = ", ".join(sorted(view.name for view in datasets.values())) or "none"
    raise InspectError(f"no dataset {table!r} in the catalog file (datasets: {known})")


@click.command("inspect")
@config_option
@click.argument("table", required=False)
@click.option("--file", "catalog_file", type=click.Path(dir_okay=False), default=None,
              help="A DataHub file-sink output (default: the config's catalog.file).")
@click.option("--values", "-n", type=click.IntRange(min=1), default=5, show_default=True,
              help="Sample values shown per column.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def inspect_command(config_path: str | None, table: str | None, catalog_file: str | None, values: int, as_json: bool) -> None:
    """What DataHub will show for TABLE: its synthetic sample values and statistics per column,
    read from the catalog file (no DataHub server needed). Without TABLE: every dataset."""
    console = Console()
    if catalog_file:
        path = Path(catalog_file)
    else:
        config = load_or_exit(config_path, store_only=True)
        if config.catalog.file is None:
            raise click.ClickException("catalog.file is null in the config: give --file PATH")
        path = config.catalog.file
    try:
        datasets = read_catalog_file(path)
        chosen = [find_dataset(datasets, table)] if table else sorted(datasets.values(), key=lambda view: view.name)
    except InspectError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps([view.as_dict() for view in chosen] if not table else chosen[0].as_dict(), indent=2))
        return
    if not table:
        console.print(datasets_table(chosen, path))
        return
    view = chosen[0]
    console.print(f"[bold]{escape(view.urn)}[/]", soft_wrap=True)
    console.print(summary_line(view))
    console.print(columns_table(view, values))
    console.print(f"[dim]from {escape(str(path))}; load it into DataHub Lite with: datahub lite import --file {escape(str(path))}[/]",
                  soft_wrap=True)


def summary_line(view: DatasetView) -> str:
    profile = view.profile or {}
    parts = [f"{profile.get('rowCount', '?')} rows, {profile.get('columnCount', len(view.columns()))} columns (synthetic)"]
    if view.tags:
        parts.append("tags: " + ", ".join(sorted(set(view.tags))))
    parts.extend(f"{key} {value}" for key, value in sorted(view.properties.items()))
    return escape(" · ".join(parts))


def datasets_table(views: list[DatasetView], path: Path) -> Table:
    table = Table(title=f"Datasets in {path}")
    for header in ("dataset", "platform", "rows", "columns", "tags"):
        table.add_column(header)
    for view in views:
        profile = view.profile or {}
        table.add_row(escape(view.name), view.platform, str(profile.get("rowCount", "")),
                      str(len(view.columns())), escape(", ".join(sorted(set(view.tags)))))
    return table


def columns_table(view: DatasetView, values: int) -> Table:
    """Per column: the sample values DataHub shows, nulls, distinct values, range."""
    table = Table(title="Sample values per column, as DataHub shows them")
    table.add_column("column", style="bold", no_wrap=True)
    table.add_column("nulls", no_wrap=True)
    table.add_column("distinct", no_wrap=True)
    table.add_column("range", overflow="fold", max_width=25)
    table.add_column("sample values", overflow="fold", ratio=1)
    for column in view.columns():
        samples = column.get("sampleValues") or []
        shown = ", ".join(map(str, samples[:values])) + (f" … ({len(samples)} in all)" if len(samples) > values else "")
        low, high = column.get("min"), column.get("max")
        table.add_row(
            escape(str(column.get("fieldPath"))),
            _share(column.get("nullProportion")),
            str(column.get("uniqueCount", "")),
            escape(f"{low} – {high}") if low is not None and high is not None else "",
            escape(shown),
        )
    return table


def _share(value: Any) -> str:
    return "" if value is None else f"{float(value):.0%}"
