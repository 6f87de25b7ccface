"""Per-relationship report, measured on the synthetic store once a run has placed every table.

For each foreign key of a stored table: its **integrity** (share of non-empty synthetic
keys that find a synthetic parent), the **cardinality similarity** (SDMetrics'
``CardinalityShapeSimilarity``, computed the same way: one minus the Kolmogorov-Smirnov
statistic between the real and synthetic children-per-parent counts, parents without
children included; the real counts are those the worker measured), and a **join check**
(rows of the child joined to its parent). Only aggregates are kept.
"""

from __future__ import annotations

from typing import Any

import duckdb
import numpy as np
from scipy.stats import ks_2samp

from catalog_synth.core.types import TableRef
from catalog_synth.link.profile import KeyProfile, RelationProfile
from catalog_synth.store.copies import StoredTable, StoreWriter, quote
from connectors.graph import KeyGraph, Relationship


def relation_reports(
    con: duckdb.DuckDBPyConnection,
    graph: KeyGraph,
    stored: list[StoredTable],
    profiles: dict[TableRef, KeyProfile],
    notes: dict[TableRef, dict[str, str]],
) -> dict[str, list[dict[str, Any]]]:
    """``logical name -> [one entry per relationship]`` for every stored child table.

    Profiles and notes of this run win; a table left unchanged keeps those of its last run.
    """
    by_ref = {TableRef(t.warehouse, t.schema_name, t.table_name): t for t in stored}
    reports = {}
    for ref, child in by_ref.items():
        relationships = graph.parents_of(ref)
        if not relationships:
            continue
        previous = {entry["relationship"]: entry for entry in child.relations or []}
        entries = []
        for relationship in relationships:
            last = previous.get(relationship.label, {})
            profile = _profile(relationship, profiles.get(ref), last)
            note = notes.get(ref, {}).get(relationship.label) if ref in profiles else last.get("note")
            entry = {"relationship": relationship.label, **relationship.as_dict(), "note": note,
                     "profile": profile.as_dict()}
            parent = by_ref.get(relationship.parent)
            if parent is None:
                entry["note"] = note or "parent not in the synthetic store"
            else:
                entry.update(measure(con, child, parent, relationship, profile))
            entries.append(entry)
        reports[child.logical_name] = entries
    return reports


def _profile(relationship: Relationship, profile: KeyProfile | None, last: dict[str, Any]) -> RelationProfile:
    measured = profile.of(relationship) if profile else None
    if measured is not None:
        return measured
    if profile is None and "profile" in last:
        return RelationProfile.from_dict(relationship, last["profile"])
    return RelationProfile(relationship, {})


def measure(
    con: duckdb.DuckDBPyConnection,
    child: StoredTable,
    parent: StoredTable,
    relationship: Relationship,
    profile: RelationProfile,
) -> dict[str, Any]:
    """Integrity, join rows and cardinality similarity of one relationship in the store."""
    own = [quote(c) for c in relationship.columns]
    referred = [quote(c) for c in relationship.parent_columns]
    match = " AND ".join(f"c.{a} = p.k{i}" for i, a in enumerate(own))
    keys = ", ".join(f"{b} AS k{i}" for i, b in enumerate(referred))
    distinct_parents = f"(SELECT DISTINCT {keys} FROM {parent.physical_sql} WHERE {_not_null(referred, '')})"
    rows, keyed, resolved = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE {_not_null(own, 'c.')}), count(p.k0) "
        f"FROM {child.physical_sql} c LEFT JOIN {distinct_parents} p ON {match}"
    ).fetchone()
    join_rows = con.execute(
        f"SELECT count(*) FROM {child.physical_sql} c JOIN {parent.physical_sql} p "
        f"ON {' AND '.join(f'c.{a} = p.{b}' for a, b in zip(own, referred))}"
    ).fetchone()[0]
    synthetic = np.array(
        [n for (n,) in con.execute(
            f"SELECT count(c.{own[0]}) FROM {distinct_parents} p LEFT JOIN {child.physical_sql} c ON {match} "
            f"GROUP BY {', '.join(f'p.k{i}' for i in range(len(own)))}"
        ).fetchall()],
        dtype="int64",
    )
    real = profile.counts()
    return {
        "rows": int(rows),
        "keyed_rows": int(keyed),
        "resolved_rows": int(resolved),
        "integrity": resolved / keyed if keyed else None,
        "empty_share": {"real": round(profile.null_share, 4), "synthetic": round(1 - keyed / rows, 4) if rows else None},
        "join_rows": int(join_rows),
        "parents": int(synthetic.size),
        "children_per_parent": {
            "real_mean": round(float(real.mean()), 3) if real.size else None,
            "synthetic_mean": round(float(synthetic.mean()), 3) if synthetic.size else None,
            **_table_mean(profile),
        },
        "cardinality_similarity": cardinality_similarity(real, synthetic),
    }


def _table_mean(profile: RelationProfile) -> dict[str, float]:
    """``{"real_table_mean": ...}``: children per parent over the whole real tables, from the
    warehouse's row counts (rows with a key / parent rows); empty when they are unknown."""
    if not profile.table_rows or not profile.table_rows[1]:
        return {}
    child_rows, parent_rows = profile.table_rows
    return {"real_table_mean": round(child_rows * (1 - profile.null_share) / parent_rows, 3)}


def cardinality_similarity(real: np.ndarray, synthetic: np.ndarray) -> float | None:
    """1 - KS statistic of two children-per-parent samples (SDMetrics' CardinalityShapeSimilarity)."""
    if real.size == 0 or synthetic.size == 0:
        return None
    return round(1.0 - float(ks_2samp(real, synthetic, method="asymp").statistic), 4)  # the p-value is not used


def _not_null(columns: list[str], prefix: str) -> str:
    return " AND ".join(f"{prefix}{c} IS NOT NULL" for c in columns)


def record_relations(writer: StoreWriter, graph: KeyGraph, profiles: dict[TableRef, KeyProfile],
                     notes: dict[TableRef, dict[str, str]]) -> None:
    """Measure every relationship in the store being written and keep the reports with its tables."""
    reports = relation_reports(writer.con, graph, writer.tables(), profiles, notes)
    for name, entries in reports.items():
        writer.set_relations(name, entries)
