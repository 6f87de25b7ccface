"""Human-readable ``catalog-synth report``: aggregates only, never values."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from catalog_synth.store import StoredTable


def render_table_report(console: Console, stored: StoredTable) -> None:
    console.print(f"[bold]{stored.logical_name}[/] — {stored.row_count} synthetic rows, synced {stored.synced_at:%Y-%m-%d %H:%M:%S %Z}")
    if stored.quality:
        q = stored.quality
        console.print(
            f"Quality (SDMetrics): overall {q['overall']:.3f} · column shapes {q['column_shapes']:.3f}"
            f" · column pair trends {q['column_pair_trends']:.3f}"
        )
    classes = Table(title="Column classification")
    for header in ("column", "class", "identifying", "how", "why"):
        classes.add_column(header)
    for name, cls in stored.classes.items():
        classes.add_row(name, cls["semantic"], "yes" if cls["identifying"] else "no", cls["source"], cls["reason"])
    console.print(classes)
    for name, reason in stored.dropped_columns.items():
        console.print(f"[yellow]left out[/] {name}: {reason}")
    if stored.gate:
        gate = Table(title=f"Privacy gate ({'passed' if stored.gate['passed'] else 'FAILED'}, attempts {stored.gate['attempts']})")
        for header in ("check", "column", "result", "detail"):
            gate.add_column(header)
        for check in stored.gate["checks"]:
            gate.add_row(check["name"], check["column"] or "", "pass" if check["passed"] else "FAIL", check["detail"])
        console.print(gate)
