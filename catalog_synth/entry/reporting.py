"""Human-readable ``catalog-synth report``: aggregates only, never values."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from catalog_synth.core.rule_notes import PREFIX, rules_of
from catalog_synth.protect.classify import finding
from catalog_synth.store.copies import StoredTable


def render_table_report(console: Console, stored: StoredTable) -> None:
    console.print(f"[bold]{stored.logical_name}[/] — {stored.row_count} synthetic rows, synced {stored.synced_at:%Y-%m-%d %H:%M:%S %Z}")
    if stored.quality:
        q = stored.quality
        console.print(
            f"Quality (SDMetrics): overall {q['overall']:.3f} · column shapes {q['column_shapes']:.3f}"
            f" · column pair trends {q['column_pair_trends']:.3f}"
        )
        for line in weakest_lines(q):
            console.print(line)
    for note in stored.notes or ():
        if not note.startswith(PREFIX):
            console.print(f"[cyan]note[/] {note}")
    if rules := rules_of(stored.notes):
        console.print(rules_table(rules))
    if stored.generator:
        console.print(generator_line(stored.generator))
    if stored.rebalance:
        console.print(rebalance_table(stored.rebalance))
        for line in utility_lines(stored.rebalance):
            console.print(line)
        if stored.rebalance.get("diversity"):
            console.print(diversity_table(stored.rebalance["diversity"]))
    classes = Table(title="Column classification")
    for header in ("column", "finding", "class", "identifying", "how", "why"):
        classes.add_column(header)
    for name, cls in stored.classes.items():
        found = finding(cls["semantic"], cls["identifying"], cls["source"])
        classes.add_row(name, found, cls["semantic"], "yes" if cls["identifying"] else "no", cls["source"], cls["reason"])
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
    if stored.relations:
        console.print(relations_table(stored.relations))


def rules_table(rules: list[dict]) -> Table:
    """The schema-wide rules found in the real table: kind, real and synthetic share, what was done."""
    table = Table(title="Schema-wide rules")
    for header in ("rule", "kind", "real share", "synthetic share", "done"):
        table.add_column(header)
    for entry in rules:
        synthetic = "" if entry["synthetic_share"] is None else f"{entry['synthetic_share']:.1%}"
        table.add_row(entry["rule"], entry["kind"], f"{entry['real_share']:.1%}", synthetic, entry["action"])
    return table


def generator_line(report: dict) -> str:
    """One line: the generator, its times, epochs and rows sampled."""
    epochs = f" · {report['epochs']:g} epochs" if report.get("epochs") is not None else ""
    extra = "".join(f" · {key.replace('_', ' ')} {value}" for key, value in report.items()
                    if key not in ("generator", "fit_seconds", "sample_seconds", "epochs", "rows_sampled") and value)
    return (f"Generator: {report['generator']} · fit {report['fit_seconds']:.1f} s · sample {report['sample_seconds']:.1f} s"
            f"{epochs} · {report['rows_sampled']} rows sampled{extra}")


def rebalance_table(rebalance: dict) -> Table:
    """Per target class of a rebalanced copy: the target, the real share and the synthetic share."""
    table = Table(title=f"Rebalanced copy ({', '.join(rebalance['columns'])})")
    for header in ("class", "target", "real share", "synthetic share"):
        table.add_column(header)
    for entry in rebalance["classes"]:
        table.add_row(", ".join(str(value) for value in entry["values"]), _share(entry["target"]),
                      _share(entry["real_share"]), _share(entry["synthetic_share"]))
    return table


def utility_lines(rebalance: dict) -> list[str]:
    """The utility check of a rebalanced copy: a quick model trained on the copy and on the
    imbalanced real rows, both scored on held-out real rows."""
    utility = rebalance.get("utility")
    if not utility:
        return []
    if not utility.get("measured"):
        return [f"Utility: not measured ({utility.get('reason', '')})"]
    copy, real = utility["copy"], utility["real"]
    verdict = "helps" if utility["helps"] else "[yellow]scores below the imbalanced real rows[/]"
    return [
        f"Utility ({utility['model']}, {utility['holdout_rows']} held-out real rows, {utility['holdout_target_rows']}"
        f" of the target): trained on the copy AUC-ROC {copy['auc_roc']:.3f} · AUC-PR {copy['auc_pr']:.3f};"
        f" on the imbalanced real rows AUC-ROC {real['auc_roc']:.3f} · AUC-PR {real['auc_pr']:.3f}"
        f" (gain {utility['gain_auc_roc']:+.3f}: {verdict})"
    ]


def diversity_table(diversity: list[dict]) -> Table:
    """Shannon entropy of each categorical column within the target classes, real vs synthetic."""
    table = Table(title="Diversity within the target classes (Shannon entropy, bits)", min_width=64)
    for header in ("column", "real sample", "copy"):
        table.add_column(header)
    for entry in diversity:
        table.add_row(entry["column"], _number(entry["real"]), _number(entry["synthetic"]))
    return table


def relations_table(relations: list[dict]) -> Table:
    """Per foreign key: integrity, cardinality similarity (SDMetrics definition), join check."""
    table = Table(title="Relationships (synthetic copy)")
    headers = ("foreign key", "parent", "origin", "integrity", "cardinality similarity",
               "children/parent real vs synthetic", "join rows", "note")  # real: whole tables
    for header in headers:
        table.add_column(header)
    for entry in relations:
        per_parent = entry.get("children_per_parent") or {}
        table.add_row(
            ", ".join(entry["columns"]),
            f"{entry['parent']}({', '.join(entry['parent_columns'])})",
            entry["origin"],
            _share(entry.get("integrity")),
            _number(entry.get("cardinality_similarity")),
            _children_per_parent(per_parent),
            str(entry["join_rows"]) if "join_rows" in entry else "",
            entry.get("note") or "",
        )
    return table


def _children_per_parent(per_parent: dict) -> str:
    """Real vs synthetic: the whole real tables' figure (warehouse row counts) where known,
    else the sampled parents' one, marked "from the sample"."""
    if not per_parent:
        return ""
    synthetic = _number(per_parent.get("synthetic_mean"))
    if per_parent.get("real_table_mean") is not None:
        return f"{_number(per_parent['real_table_mean'])} vs {synthetic}"
    return f"{_number(per_parent.get('real_mean'))} (from the sample) vs {synthetic}"


# Below this overall score the report names what drags it down.
LOW_QUALITY = 0.8


def weakest_lines(quality: dict) -> list[str]:
    """For a low score, the columns and pairs whose scores are lowest (names and scores only)."""
    weakest = quality.get("weakest") or {}
    if quality.get("overall", 1.0) >= LOW_QUALITY or not weakest:
        return []
    lines = []
    columns = [f"{entry['column']} {entry['score']:.2f}" for entry in weakest.get("columns", []) if entry["score"] < 1]
    if columns:
        lines.append("  lowest column shapes (vs the real sample): " + ", ".join(columns))
    pairs = [f"{' × '.join(entry['columns'])} {entry['score']:.2f}" for entry in weakest.get("pairs", []) if entry["score"] < 1]
    if pairs:
        lines.append("  lowest pair trends: " + ", ".join(pairs))
    return lines


def _share(value: float | None) -> str:
    return "" if value is None else f"{value:.1%}"


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"
