"""The parts of referential integrity, on small real SQLite warehouses and synthetic frames (no SDV)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from catalog_synth.core.config import RelationshipConfig, validate_config
from catalog_synth.core.types import (
    ColumnClass,
    ColumnInfo,
    ColumnKind,
    ForeignKey,
    GateResult,
    SyntheticTable,
    TableInfo,
    TableRef,
    TableResult,
    TableStatus,
)
from catalog_synth.entry.demo_data import build_demo_warehouse
from catalog_synth.link.assign import (
    draw_parents,
    draw_self_parents,
    scale_to,
    unique_key,
)
from catalog_synth.link.link import KeyLinker
from catalog_synth.link.plan import KeyPlan, plan_keys
from catalog_synth.link.profile import (
    KeyProfile,
    RelationProfile,
    drop_real_keys,
    histogram,
)
from catalog_synth.link.rules import Rule
from catalog_synth.store.relations import cardinality_similarity
from connectors.graph import (
    KeyGraph,
    Relationship,
    RelationshipError,
    config_relationship,
    discover,
)
from connectors.sqlalchemy import open_sqlalchemy


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> str:
    return build_demo_warehouse(tmp_path_factory.mktemp("keys") / "shop.sqlite", "sqlite", rows=120)


def demo_graph(url: str, relationships: list[dict] | None = None) -> tuple[KeyGraph, list[str]]:
    config = validate_config({"warehouses": [{"name": "w", "url": url, "relationships": relationships or []}]})
    warehouse = config.warehouses[0]
    with open_sqlalchemy("w", url) as connector:
        return discover(connector, warehouse, connector.list_tables(["*.*"], []))


def ref(name: str) -> TableRef:
    return TableRef("w", "main", name)


# -- relationships from the warehouse and the config ------------------------------------


def test_config_relationships_are_parsed_and_checked(demo: str) -> None:
    declared = config_relationship("w", RelationshipConfig(child="main.orders(customer_id)", parent="main.people(id)"))
    assert (declared.child, declared.columns, declared.parent, declared.origin) == (
        ref("orders"), ("customer_id",), ref("people"), "config"
    )
    with pytest.raises(RelationshipError, match="1 child column"):
        config_relationship("w", RelationshipConfig(child="main.a(x)", parent="main.b(y, z)"))
    _, problems = demo_graph(
        demo,
        [
            {"child": "main.orders(customer_id)", "parent": "main.clients(id)"},
            {"child": "main.orders(client)", "parent": "main.people(id)"},
            {"child": "main.orders(status)", "parent": "main.people(id)"},
        ],
    )
    assert problems[0] == "relationships[0]: table main.clients is not in the warehouse (or not included)"
    assert problems[1] == "relationships[1]: main.orders has no column 'client'"
    assert "cannot hold values of 'id'" in problems[2]


def test_declared_foreign_keys_and_config_relationships_make_one_graph(demo: str) -> None:
    graph, problems = demo_graph(demo, [{"child": "main.order_items(product_id)", "parent": "main.products(product_id)"}])
    assert not problems
    labels = {r.label: r.origin for r in graph.relationships}
    assert labels["main.orders(customer_id) -> main.people(id)"] == "warehouse"
    # The warehouse already declares order_items.product_id: the config entry does not duplicate it.
    assert sum(1 for r in graph.relationships if r.columns == ("product_id",)) == 1


def test_plan_samples_families_along_entity_keys_not_lookups(demo: str) -> None:
    graph, _ = demo_graph(demo)
    plans, sizes = plan_keys(graph, sample_rows=500, copy_rows=10_000)
    items = plans[ref("order_items")]
    assert items.sampled_with is not None and items.sampled_with.relationship.parent == ref("orders")
    assert {p.relationship.parent for p in items.measured} == {ref("orders"), ref("products")}
    assert plans[ref("orders")].sampled_with.relationship.parent == ref("people")
    assert plans[ref("people")].checked_key == ("id",) and plans[ref("order_items")].checked_key == ()
    assert items.relinked == ("order_id", "product_id")
    assert all(sizes[r] == graph.tables[r].row_count for r in sizes)  # copy_rows above every table: no scaling


def test_a_tree_is_scaled_down_together(demo: str) -> None:
    graph, _ = demo_graph(demo)
    _, sizes = plan_keys(graph, sample_rows=500, copy_rows=150)
    rows = {r.name: graph.tables[r].row_count for r in graph.tables}
    assert set(sizes) == {ref("people"), ref("orders"), ref("order_items")}  # products is no family head
    assert max(sizes.values()) <= 150
    ratio = sizes[ref("orders")] / sizes[ref("people")]
    assert ratio == pytest.approx(rows["orders"] / rows["people"], rel=0.1)


# -- drawing parents ------------------------------------------------------------------------


def test_scale_to_keeps_zeros_and_the_total() -> None:
    rng = np.random.default_rng(1)
    scaled = scale_to(np.array([0, 1, 2, 7, 0]), 25, rng)
    assert scaled.sum() == 25 and scaled[0] == 0 and scaled[-1] == 0 and scaled[3] > scaled[2] > scaled[1]


def test_draw_parents_follows_the_measured_shape() -> None:
    rng = np.random.default_rng(2)
    measured = np.repeat([0, 1, 3], [50, 30, 20])  # 50% childless, mean 0.9
    parents = draw_parents(900, 1000, measured, 0.1, rng)
    empty = parents == -1
    assert 0.07 < empty.mean() < 0.13
    counts = np.bincount(parents[~empty], minlength=1000)
    assert counts.sum() == (~empty).sum()
    assert cardinality_similarity(measured, counts) > 0.85


def test_self_parents_form_a_forest_with_the_real_share_of_roots() -> None:
    rng = np.random.default_rng(3)
    parents = draw_self_parents(200, np.repeat([0, 4], [160, 40]), 0.05, rng)
    assert (parents == -1).sum() == 10
    for row in range(200):
        seen = {row}
        while parents[row] != -1:
            row = int(parents[row])
            assert row not in seen
            seen.add(row)
    not_null = draw_self_parents(5, np.array([1]), 0.0, rng)
    assert (not_null >= 0).all() and (not_null == np.arange(5)).sum() == 1  # the root points at itself


def test_unique_key_redraws_repeated_pairs() -> None:
    rng = np.random.default_rng(4)
    data = pd.DataFrame({"product_id": [1, 1, 1, 2], "category_id": [7, 7, 8, 7]})
    pool = pd.DataFrame({"category_id": [7, 8, 9, 10]})
    unique = unique_key(data, ("product_id", "category_id"), [(("category_id",), pool)], rng)
    assert len(unique) == 4 and not unique.duplicated().any()


def test_histogram_never_keeps_a_rare_extreme() -> None:
    rng = np.random.default_rng(6)
    counts = np.array([1] * 3 + [2] * 20 + [3] * 10 + [5] * 5 + [7] * 2 + [40])
    kept = histogram(counts, 5, rng)
    assert sum(kept.values()) == counts.size
    assert 40 not in kept and 1 not in kept  # the largest and smallest sizes, each seen fewer than 5 times
    assert kept[7] >= 2 and max(kept) < 40  # inner sizes stay; the largest moved inward
    lookups = histogram(np.array([0] * 1000 + [6600, 6700, 6800]), 5, rng)  # 3 of 1,003 airports have flights
    assert lookups[0] == 1000 and 6800 not in lookups and sum(lookups.values()) == 1003


def test_cardinality_similarity_is_sdmetrics_cardinality_shape_similarity() -> None:
    from sdmetrics.multi_table import CardinalityShapeSimilarity

    rng = np.random.default_rng(5)
    real = {"p": pd.DataFrame({"id": range(60)}), "c": pd.DataFrame({"pid": rng.integers(0, 70, 200)})}
    synthetic = {"p": pd.DataFrame({"id": range(50)}), "c": pd.DataFrame({"pid": rng.integers(0, 50, 180)})}
    metadata = {
        "tables": {"p": {"columns": {"id": {"sdtype": "id"}}, "primary_key": "id"}, "c": {"columns": {"pid": {"sdtype": "id"}}}},
        "relationships": [
            {"parent_table_name": "p", "parent_primary_key": "id", "child_table_name": "c", "child_foreign_key": "pid"}
        ],
    }
    expected = CardinalityShapeSimilarity.compute(real, synthetic, metadata)

    def counts(tables: dict) -> np.ndarray:
        return tables["c"]["pid"].value_counts().reindex(tables["p"]["id"], fill_value=0).to_numpy()

    assert cardinality_similarity(counts(real), counts(synthetic)) == pytest.approx(expected, abs=1e-4)


# -- linking in the calling process ------------------------------------------------------------


class Outcome:
    def __init__(self, table: SyntheticTable | None, status: TableStatus = TableStatus.SYNTHESIZED, reason: str = ""):
        ref_ = table.ref if table is not None else None
        self.result = TableResult(ref_, status, reason)
        self.table = table
        self.keys: KeyProfile | None = None
        self.settled = False


def synthetic(name: str, key: str, frame: pd.DataFrame, foreign: dict[str, tuple[str, str]], nullable: set[str] = set()) -> SyntheticTable:
    columns = [ColumnInfo(c, "INTEGER", ColumnKind.INTEGER, nullable=c in nullable) for c in frame.columns]
    fks = [ForeignKey((column,), ref(parent), (parent_key,)) for column, (parent, parent_key) in foreign.items()]
    info = TableInfo(ref(name), columns, (key,), fks, row_count=len(frame))
    classes = {c: ColumnClass(c, "identifier", True, "key", "key") for c in frame.columns}
    return SyntheticTable(ref(name), info, frame, 5, classes=classes, gate=GateResult())


def graph_of(*tables: SyntheticTable) -> KeyGraph:
    relationships = [
        Relationship(t.ref, fk.columns, fk.referred, fk.referred_columns) for t in tables for fk in t.info.foreign_keys
    ]
    return KeyGraph({t.ref: t.info for t in tables}, relationships)


def test_tables_referencing_each_other_are_both_linked() -> None:
    departments = synthetic(
        "departments", "department_id", pd.DataFrame({"department_id": [501, 502, 503], "head_id": [9, 9, 9]}),
        {"head_id": ("employees", "employee_id")}, nullable={"head_id"},
    )
    employees = synthetic(
        "employees", "employee_id", pd.DataFrame({"employee_id": range(1001, 1021), "department_id": [7] * 20}),
        {"department_id": ("departments", "department_id")},
    )
    linker = KeyLinker(graph_of(departments, employees), lambda ref, columns: None, seed=1)
    linker.expect([departments.ref, employees.ref])
    released = linker.arrive(Outcome(departments)) + linker.arrive(Outcome(employees))
    assert {o.result.ref.name for o in released} == {"departments", "employees"}
    assert set(employees.data["department_id"]) <= {501, 502, 503}
    assert set(departments.data["head_id"].dropna()) <= set(range(1001, 1021))
    assert linker.stale() == []


def test_a_child_of_an_unpublished_parent_is_not_published_with_dangling_keys() -> None:
    people = synthetic("people", "id", pd.DataFrame({"id": [1, 2]}), {})
    orders = synthetic("orders", "order_id", pd.DataFrame({"order_id": [5, 6], "customer_id": [1, 1]}), {"customer_id": ("people", "id")})
    notes = synthetic(
        "notes", "note_id", pd.DataFrame({"note_id": [8, 9], "person_id": [1, 2]}), {"person_id": ("people", "id")}, {"person_id"}
    )
    linker = KeyLinker(graph_of(people, orders, notes), lambda ref, columns: None, seed=2)
    linker.expect([people.ref, orders.ref, notes.ref])
    assert linker.arrive(Outcome(orders)) == [] and linker.arrive(Outcome(notes)) == []
    failed = Outcome(None, TableStatus.FAILED, "privacy gate failed")
    failed.result.ref = people.ref
    released = {o.result.ref.name: o for o in linker.arrive(failed)}
    assert released["orders"].table is None and released["orders"].result.status is TableStatus.SKIPPED
    assert "parent main.people was not published (privacy gate failed)" in released["orders"].result.reason
    assert released["notes"].table.data["person_id"].isna().all()
    assert "keys left empty" in linker.notes[notes.ref]["main.notes(person_id) -> main.people(id)"]


def test_unchanged_children_of_a_new_parent_are_synthesized_again_with_their_descendants() -> None:
    people = synthetic("people", "id", pd.DataFrame({"id": [1, 2]}), {})
    orders = synthetic("orders", "order_id", pd.DataFrame({"order_id": [5], "customer_id": [1]}), {"customer_id": ("people", "id")})
    items = synthetic("items", "item_id", pd.DataFrame({"item_id": [3], "order_id": [5]}), {"order_id": ("orders", "order_id")})
    stored = {ref("orders"): pd.DataFrame({"order_id": [5]}), ref("people"): pd.DataFrame({"id": [1]})}
    linker = KeyLinker(graph_of(people, orders, items), lambda r, columns: stored.get(r), seed=3)
    linker.expect([people.ref, orders.ref, items.ref])
    for name in ("orders", "items"):
        unchanged = Outcome(None, TableStatus.UNCHANGED)
        unchanged.result.ref = ref(name)
        assert linker.arrive(unchanged)
    linker.arrive(Outcome(people))
    assert linker.stale() == [ref("items"), ref("orders")]


def test_parent_keys_that_exist_in_the_warehouse_are_dropped(demo: str) -> None:
    info = TableInfo(ref("people"), [ColumnInfo("id", "INTEGER", ColumnKind.INTEGER)], ("id",), row_count=3)
    table = SyntheticTable(
        info.ref, info, pd.DataFrame({"id": [17, 987654, 3]}), 3,
        classes={"id": ColumnClass("id", "identifier", True, "primary key", "key")},
    )
    with open_sqlalchemy("w", demo) as connector:
        dropped = drop_real_keys(connector, table, KeyPlan(checked_key=("id",)))
    assert dropped == 2 and table.data["id"].tolist() == [987654]


def test_related_reads_handle_composite_keys(demo: str) -> None:
    graph, _ = demo_graph(demo)
    items = graph.tables[ref("order_items")]
    with open_sqlalchemy("w", demo) as connector:
        found = connector.existing_keys(items.ref, ("order_id", "line_no"), pd.DataFrame({"a": [1, 1, 2], "b": [1, 99, 1]}))
        counted = connector.count_by_key(items, ("order_id",), pd.DataFrame({"order_id": [1, 2, 10**9]}))
        children = connector.sample_children(items, ("order_id",), pd.DataFrame({"order_id": [1, 2]}), rows=1000)
    assert sorted(map(tuple, found.to_numpy().tolist())) == [(1, 1), (2, 1)]
    assert set(counted["order_id"]) == {1, 2} and counted["children"].sum() == len(children)
    assert set(children["order_id"]) == {1, 2}


def test_profile_of_a_relationship_round_trips() -> None:
    relationship = Relationship(ref("orders"), ("customer_id",), ref("people"), ("id",))
    profile = RelationProfile(relationship, {0: 3, 2: 5}, 0.1, None, 1, True)
    assert RelationProfile.from_dict(relationship, profile.as_dict()) == profile
    assert profile.counts().tolist() == [0, 0, 0, 2, 2, 2, 2, 2]


def test_a_parent_waiting_on_its_own_parent_hands_out_no_keys_until_it_is_sure_to_be_published() -> None:
    region = synthetic("region", "r_id", pd.DataFrame({"r_id": [1, 2]}), {})
    nation = synthetic("nation", "n_id", pd.DataFrame({"n_id": [10, 11], "r_id": [1, 2]}), {"r_id": ("region", "r_id")})
    customer = synthetic("customer", "c_id", pd.DataFrame({"c_id": [7, 8], "n_id": [10, 11]}), {"n_id": ("nation", "n_id")})
    linker = KeyLinker(graph_of(region, nation, customer), lambda ref, columns: None, seed=4)
    linker.expect([region.ref, nation.ref, customer.ref])
    assert linker.arrive(Outcome(nation)) == []
    assert linker.arrive(Outcome(customer)) == []  # nation's keys are not handed out while region may fail
    failed = Outcome(None, TableStatus.FAILED, "privacy gate failed")
    failed.result.ref = region.ref
    released = {o.result.ref.name: o for o in linker.arrive(failed)}
    assert released["nation"].table is None and released["customer"].table is None
    assert "parent main.nation was not published" in released["customer"].result.reason


def test_identifying_sources_are_nearby_tables_first_then_people_tables_at_most_twelve() -> None:
    from catalog_synth.protect.people import MAX_SOURCES, IdentifyingSources

    def table(name: str, columns: list[str], parent: str | None = None) -> TableInfo:
        infos = [ColumnInfo("id", "INTEGER", ColumnKind.INTEGER)] + [ColumnInfo(c, "TEXT", ColumnKind.STRING) for c in columns]
        fks = [ForeignKey(("parent_id",), ref(parent), ("id",))] if parent else []
        return TableInfo(ref(name), infos + ([ColumnInfo("parent_id", "INTEGER", ColumnKind.INTEGER)] if parent else []),
                         ("id",), fks)  # fmt: skip

    tables = [table("orders", ["email", "note"], parent="accounts"), table("accounts", ["phone", "website_url"])]
    tables += [table(f"customers{i:02d}", ["email", "last_name", "notes"]) for i in range(10)]
    tables += [table("labels", ["label"])]
    graph = KeyGraph({t.ref: t for t in tables}, [Relationship(ref("orders"), ("parent_id",), ref("accounts"), ("id",))])
    sources = IdentifyingSources(graph).of(ref("orders"))
    assert len(sources) == MAX_SOURCES
    assert [(s.table.name, s.column) for s in sources[:3]] == [("accounts", "phone"), ("customers00", "email"),
                                                                ("customers00", "last_name")]  # fmt: skip
    assert {s.table.name for s in sources} == {"accounts"} | {f"customers{i:02d}" for i in range(6)}
    assert not {"orders", "labels"} & {s.table.name for s in sources}  # not itself, not a table about no one
    assert "website_url" not in {s.column for s in sources}


@pytest.mark.parametrize("parent_first", [True, False])
def test_a_total_waits_for_its_children_whichever_arrives_first(parent_first: bool) -> None:
    """An invoice's total is the sum of its lines (a ``total`` rule of the invoice): the invoice is
    linked, hands out its keys, and is published only once its lines are linked, with the sums."""
    invoices = synthetic("invoices", "invoice_id", pd.DataFrame({"invoice_id": [1, 2, 3], "total": [5, 7, 9]}), {})
    lines = synthetic(
        "lines", "line_id",
        pd.DataFrame({"line_id": range(12), "invoice_id": [0] * 12, "price": [1, 2, 3] * 4, "quantity": [1, 2] * 6}),
        {"invoice_id": ("invoices", "invoice_id")},
    )
    graph = graph_of(invoices, lines)
    relationship = graph.children_of(invoices.ref)[0]
    parent = Outcome(invoices)
    parent.keys = KeyProfile(rules=[Rule("total", "total", "price * quantity", 1.0, 3, relationship)])
    linker = KeyLinker(graph, lambda ref, columns: None, seed=5)
    linker.expect([invoices.ref, lines.ref])
    first, second = (parent, Outcome(lines)) if parent_first else (Outcome(lines), parent)
    released = linker.arrive(first)
    assert all(o.result.ref.name != "invoices" for o in released)  # the invoice waits for its lines
    released += linker.arrive(second) + linker.finish()
    assert sorted(o.result.ref.name for o in released) == ["invoices", "lines"]
    sums = (lines.data.price * lines.data.quantity).groupby(lines.data.invoice_id).sum()
    with_lines = invoices.data.set_index("invoice_id").total.loc[sums.index]
    assert list(with_lines) == list(sums), (invoices.data, sums)
    assert any("take the sum of their synthetic children" in note for note in parent.table.notes)


def test_a_seeded_linker_draws_the_same_keys_whichever_order_the_workers_finish_in() -> None:
    """Workers finish in any order: each table's keys come from its own stream of the seed."""

    def linked(order: tuple[str, ...]) -> dict[str, list[int]]:
        people = synthetic("people", "id", pd.DataFrame({"id": range(1, 41)}), {})
        orders = synthetic("orders", "order_id", pd.DataFrame({"order_id": range(100), "customer_id": 0}),
                           {"customer_id": ("people", "id")})
        notes = synthetic("notes", "note_id", pd.DataFrame({"note_id": range(60), "person_id": 0}),
                          {"person_id": ("people", "id")})
        tables = {t.ref.name: t for t in (people, orders, notes)}
        linker = KeyLinker(graph_of(people, orders, notes), lambda ref, columns: None, seed=6)
        linker.expect([t.ref for t in tables.values()])
        for name in order:
            linker.arrive(Outcome(tables[name]))
        return {"orders": list(orders.data["customer_id"]), "notes": list(notes.data["person_id"])}

    first = linked(("people", "orders", "notes"))
    assert first == linked(("notes", "people", "orders")) == linked(("orders", "notes", "people"))
    assert len(set(first["orders"])) > 10  # keys were drawn, not left as they came
