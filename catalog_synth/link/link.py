"""Calling-process side: synthetic children get synthetic parents before they are published.

Workers synthesize every table at once, in parallel; a child's foreign keys hold
format-preserving fakes until here. :class:`KeyLinker` holds each arriving table until its
parents' key pools are known (synthetic keys, or a stored copy's), then re-draws its keys:

* each synthetic parent gets a number of children drawn from the real children-per-parent
  shape measured by the child's worker; empty keys keep the real share;
* a self-reference (``employees.manager_id``) becomes a forest over the table's own keys;
* the key column numbering each parent's children (``line_no``) is renumbered, and a
  composite primary key stays unique;
* rules across a foreign key (a copied parent column, a date after its parent's) hold at their
  real share, from the synthetic parent's values (link/enforce.py).

A parent's pool is known when it arrives, unless its referenced columns are themselves
foreign keys still to be linked, or it may still fail its own linking (then its children wait:
no child points at a parent that never reaches the store); so key cycles between tables
(departments <-> employees) need no ordering. Everything here is synthetic or aggregate.
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from catalog_synth.core.rule_notes import PREFIX
from catalog_synth.core.types import (
    CheckResult,
    ColumnClass,
    SyntheticTable,
    TableRef,
    TableResult,
    TableStatus,
    with_rows_note,
)
from catalog_synth.link.assign import (
    covered_by_wider,
    draw_parents,
    draw_self_parents,
    number_children,
    set_keys,
    unique_key,
)
from catalog_synth.link.bands import keep_bands
from catalog_synth.link.enforce import across
from catalog_synth.link.labels import (
    key_tokens,
    matched_parents,
    token_positions,
    weighted_parents,
)
from catalog_synth.link.offsets import place
from catalog_synth.link.profile import KeyProfile, Outcome, RelationProfile
from catalog_synth.link.rules import anchors_of
from catalog_synth.link.totals import WaitingParents, sums_over
from connectors.graph import KeyGraph, Relationship

# (table, columns) -> its stored synthetic keys, or None when the store has no copy of it.
StoredKeys = Callable[[TableRef, tuple[str, ...]], "pd.DataFrame | None"]


@dataclass(frozen=True)
class Unlinked:
    """Why a relationship cannot get synthetic parents; ``keep_fakes`` when its parent is not synchronized."""

    reason: str
    keep_fakes: bool


class Unpublishable(Exception):
    """A child whose non-null foreign key has no synthetic parent to point at."""


class KeyLinker:
    def __init__(self, graph: KeyGraph, stored_keys: StoredKeys, seed: int | None = None):
        self.graph = graph
        self.stored_keys = stored_keys
        # Each table's draws come from its own stream (seed, table, times linked), set in _link:
        # workers finish in any order, and a seeded run must draw the same keys whatever it is.
        self.entropy = np.random.SeedSequence(seed).entropy
        self.rng = np.random.default_rng(self.entropy)
        self.expected: set[TableRef] = set()
        self.held: dict[TableRef, Outcome] = {}
        self.linked: dict[TableRef, pd.DataFrame] = {}  # referenced columns of released tables
        self.missing: dict[TableRef, str] = {}  # tables of this run that were not published, and why
        self.version: dict[TableRef, int] = defaultdict(int)  # bumped whenever a table gets new keys
        self.seen: dict[TableRef, dict[TableRef, int]] = {}  # parent versions each child points at
        self.profiles: dict[TableRef, KeyProfile] = {}
        self.notes: dict[TableRef, dict[str, str]] = defaultdict(dict)  # child -> relationship label -> note
        # reference tables of this run: referenced columns -> synthetic key -> token of the real key
        self.tokens: dict[TableRef, dict[tuple[str, ...], dict[tuple, int | None]]] = {}
        self.waiting = WaitingParents()  # parents whose totals come from children still to link

    def expect(self, refs: Iterable[TableRef]) -> None:
        """Tables the next round of work will deliver."""
        self.expected.update(refs)

    def arrive(self, outcome: Outcome) -> list[Outcome]:
        """Take a worker's answer; returns the answers now ready to publish, parents first."""
        ref = outcome.result.ref
        self.expected.discard(ref)
        self.linked.pop(ref, None)
        if outcome.table is None:
            if outcome.result.status is TableStatus.UNCHANGED:
                self.seen[ref] = {r.parent: 0 for r in self.graph.parents_of(ref)}
            if outcome.result.status is not TableStatus.UNCHANGED or outcome.settled:  # left unpublished
                self.missing[ref] = outcome.result.reason or outcome.result.status.value
            return [outcome, *self._release()]
        self.missing.pop(ref, None)
        self.version[ref] += 1
        self.held[ref] = outcome
        own = outcome.keys.own_tokens if outcome.keys else {}
        self.tokens[ref] = {cols: key_tokens(outcome.table.data, cols, tokens) for cols, tokens in own.items()}
        return self._release()

    def finish(self) -> list[Outcome]:
        """Release what still waits (keys that depend on each other through composite keys)."""
        ready = []
        for ref in list(self.held):
            outcome = self.held.pop(ref)
            waiting = Unlinked("its parent's keys depend on this table's keys (a key cycle)", keep_fakes=False)
            pools = {r: waiting if (p := self._pool(r)) is None else p for r in self._relationships(ref)}
            ready += self._linked(self._link(outcome, pools))
        return [*ready, *self.waiting.ready(lambda ref: False)]

    def stale(self) -> list[TableRef]:
        """Tables whose published keys point at parents that have since got new keys, with all
        their descendants (so that a table and its children are linked in the same round)."""
        stale = {ref for ref, parents in self.seen.items() if any(self.version[p] > v for p, v in parents.items())}
        pending = list(stale)
        while pending:
            for relationship in self.graph.children_of(pending.pop()):
                if relationship.child not in stale and relationship.child in self.graph.tables:
                    stale.add(relationship.child)
                    pending.append(relationship.child)
        return sorted(stale)

    # -- readiness -------------------------------------------------------------------------
    def _release(self) -> list[Outcome]:
        ready: list[Outcome] = []
        progress = True
        while progress:
            progress = False
            for ref in list(self.held):
                pools = {r: self._pool(r) for r in self._relationships(ref)}
                if any(pool is None for pool in pools.values()):
                    continue
                ready += self._linked(self._link(self.held.pop(ref), pools))
                progress = True
        return [*ready, *self.waiting.ready(self._coming)]

    def _linked(self, outcome: Outcome) -> list[Outcome]:
        """A linked table sets the totals of the parents that wait for it, and waits itself while
        children its own totals come from are still to come."""
        if outcome.table is None:
            return [outcome]
        self.waiting.child_linked(outcome.table, self.rng)
        return [] if self.waiting.wait(outcome, self._coming) else [outcome]

    def _coming(self, ref: TableRef) -> bool:
        return ref in self.expected or ref in self.held

    def _relationships(self, ref: TableRef) -> list[Relationship]:
        return [r for r in self.graph.parents_of(ref) if not r.self_reference]

    def _pool(self, relationship: Relationship) -> pd.DataFrame | Unlinked | None:
        """The parent's distinct synthetic keys, why there are none, or None while they may change."""
        parent, columns = relationship.parent, relationship.parent_columns
        if parent in self.linked:
            frame = self.linked[parent]
        elif parent in self.held:
            if self._keys_still_change(parent, columns) or not self._will_publish(parent):
                return None
            if sums_over(self.held[parent], relationship.child):
                return None  # linked after its parent, which then waits for its sums
            frame = self.held[parent].table.data
        elif parent in self.expected:
            return None
        else:
            stored = self.stored_keys(parent, columns)
            frame = None if stored is None else stored.set_axis(list(columns), axis=1)
        if frame is not None and set(columns) <= set(frame.columns):
            keys = _distinct(frame, columns)
            if not keys.empty:
                return keys
        if parent in self.missing:
            return Unlinked(f"parent {parent.qualified} was not published ({self.missing[parent]})", keep_fakes=False)
        if parent in self.graph.tables:
            return Unlinked(f"parent {parent.qualified} has no synthetic keys", keep_fakes=False)
        return Unlinked(f"parent {parent.qualified} is not synchronized", keep_fakes=True)

    def _will_publish(self, ref: TableRef, visiting: frozenset[TableRef] = frozenset()) -> bool:
        """A held table hands out its keys only when its own linking cannot fail: every parent it
        needs is published, stored, or held and sure to be published itself (a key cycle counts
        as sure). Otherwise a child could point at keys of a parent that never reaches the store.
        An empty table always publishes (it points at nothing)."""
        if ref in self.held and self.held[ref].table.data.empty:
            return True
        for relationship in self._relationships(ref):
            parent = relationship.parent
            if parent in visiting or parent in self.linked:
                continue
            if parent in self.held:
                if not self._will_publish(parent, visiting | {ref}):
                    return False
                continue
            if parent in self.expected:
                return False
            pool = self._pool(relationship)
            if isinstance(pool, Unlinked) and not pool.keep_fakes and not self.graph.nullable(relationship):
                return False
        return True

    def _keys_still_change(self, ref: TableRef, columns: tuple[str, ...]) -> bool:
        """Referenced columns that are foreign keys themselves change when ``ref`` is linked."""
        return any(set(r.columns) & set(columns) for r in self._relationships(ref))

    # -- linking ---------------------------------------------------------------------------
    def _link(self, outcome: Outcome, pools: dict[Relationship, pd.DataFrame | Unlinked]) -> Outcome:
        table = outcome.table
        ref = table.ref
        self.rng = np.random.default_rng([self.entropy, zlib.crc32(str(ref).encode()), self.version[ref]])
        profile = outcome.keys or KeyProfile()
        self.profiles[ref] = profile
        self.seen[ref] = {r.parent: self.version[r.parent] for r in self.graph.parents_of(ref)}
        before = len(table.data)
        try:
            if before:
                self._link_table(table, profile, pools)
                self._keep_rules(outcome, profile)
            else:  # an empty copy needs no parent: it is published empty whatever its parents are
                note = _empty_note(pools)
                table.notes, outcome.result.notes = [*table.notes, *note], [*outcome.result.notes, *note]
        except Unpublishable as exc:
            reason = str(exc)
            self.missing[ref] = reason
            outcome.result = TableResult(ref, TableStatus.SKIPPED, reason, rows_read=outcome.result.rows_read)
            outcome.table = None
            # Settled: the table is linked again when a parent it points at gets keys (see stale()).
            outcome.settled = True
            return outcome
        outcome.result.rows_written = len(table.data)
        if len(table.data) < before:
            table.shortfall.append(f"{before - len(table.data)} rows whose key repeated after linking were dropped")
        for holder in (outcome.result, table):  # the summary and the stored copy's report
            holder.notes = with_rows_note(holder.notes, outcome.result.rows_asked, len(table.data), table.shortfall)
        referenced = {c for r in self.graph.children_of(ref) for c in r.parent_columns} | anchors_of(self.graph, ref)
        referenced = sorted(referenced & set(table.data.columns))
        self.linked[ref] = table.data[referenced].copy()
        return outcome

    def _link_table(
        self, table: SyntheticTable, profile: KeyProfile, pools: dict[Relationship, pd.DataFrame | Unlinked]
    ) -> None:
        together = {p.relationship for p in profile.relations if p.sampled_together}
        relationships = sorted(  # composite keys first, then the sampling parent's
            self.graph.parents_of(table.ref), key=lambda r: (r.self_reference, -len(r.columns), r not in together)
        )
        redraw: list[tuple[tuple[str, ...], pd.DataFrame]] = []
        covered = covered_by_wider(self.graph, relationships, pools)
        for relationship in relationships:
            measured = profile.of(relationship) or RelationProfile(relationship, {})
            if relationship.self_reference:
                self._link_self(table, measured)
                continue
            pool = pools[relationship]
            if isinstance(pool, Unlinked):
                self._unlinked(table, relationship, pool)
                continue
            if relationship in covered:  # its columns were drawn as part of a composite key
                self._mark_linked(table, relationship)
                self.notes[table.ref][relationship.label] = (
                    f"keys drawn as part of ({', '.join(covered[relationship].columns)}) -> "
                    f"{covered[relationship].parent.qualified}, whose keys point at this parent"
                )
                continue
            self._link_one(table, measured, pool)
            if not measured.sampled_together:
                redraw.append((relationship.columns, pool))
        self._keep_key_unique(table, relationships, redraw)

    def _link_one(self, table: SyntheticTable, measured: RelationProfile, pool: pd.DataFrame) -> None:
        relationship = measured.relationship
        null_share = measured.null_share if self.graph.nullable(relationship) else 0.0
        parents = self._by_label(table, measured, pool, null_share)
        if parents is None:
            parents = draw_parents(len(table.data), len(pool), measured.counts(), null_share, self.rng)
        set_keys(table.data, relationship.columns, pool, parents)
        if measured.counter and measured.counter in table.data.columns:
            number_children(table.data, relationship.columns, measured.counter, measured.counter_start)
            table.classes[measured.counter] = ColumnClass(
                measured.counter,
                "numerical",
                False,
                f"numbers the rows of each {relationship.parent.qualified} from {measured.counter_start},"
                " like the real table",
                "key",
            )
        self._mark_linked(table, relationship)

    def _by_label(
        self, table: SyntheticTable, measured: RelationProfile, pool: pd.DataFrame, null_share: float
    ) -> np.ndarray | None:
        """Parents of a reference table drawn so that rows per label follow the real counts, and a
        kept row of a reference child gets the parent holding its real parent's labels (None: no
        tokens for this parent, e.g. its copy is from an earlier sync; drawn as before)."""
        relationship = measured.relationship
        known = self.tokens.get(relationship.parent, {}).get(relationship.parent_columns) or measured.parent_key_tokens
        positions = token_positions(pool, known) if known else {}
        if not positions:
            return None
        n_rows, parent = len(table.data), relationship.parent.qualified
        parents = weighted_parents(n_rows, positions, measured.label_counts, null_share, self.rng)
        if len(measured.row_tokens) == n_rows:
            fallback = parents if parents is not None else draw_parents(n_rows, len(pool), measured.counts(), 0.0, self.rng)
            parents = matched_parents(measured.row_tokens, positions, fallback)
            self.notes[table.ref][relationship.label] = f"each row keeps its real parent's labels in {parent}"
        elif parents is not None:
            self.notes[table.ref][relationship.label] = f"rows per label of {parent} follow the real counts"
        return parents

    def _keep_rules(self, outcome: Outcome, profile: KeyProfile) -> None:
        """Rules across foreign keys (link/enforce.py), from the synthetic parents just linked."""
        table = outcome.table
        if any(r.across for r in profile.rules):
            outcomes, placed = place(table, profile.rules, self._parent_rows, self.rng)
            rest = [r for r in profile.rules if r not in placed]
            outcomes += across(table, rest, self._parent_rows, self.rng, profile.rare_copies)
            if placed:  # dates moved: categories that follow their range follow them again
                outcomes += keep_bands(table.data, profile.rules, self.rng)
                again = tuple(f"{PREFIX}{o.rule.name} (" for o in outcomes if o.rule.kind == "band")
                table.notes = [n for n in table.notes if not n.startswith(again)]
                outcome.result.notes = [n for n in outcome.result.notes if not n.startswith(again)]
            notes = [o.note() for o in outcomes]
            table.notes, outcome.result.notes = [*table.notes, *notes], [*outcome.result.notes, *notes]

    def _parent_rows(self, relationship: Relationship, column: str) -> pd.DataFrame | None:
        """The parent's synthetic rows as linked: its keys and ``column`` (a stored copy's rows
        where it is not empty)."""
        parent = relationship.parent
        if parent in self.linked:
            return self.linked[parent]
        if parent in self.held:
            return self.held[parent].table.data
        try:  # an older stored copy without the column: not enforced
            return self.stored_keys(parent, tuple(dict.fromkeys((*relationship.parent_columns, column))))
        except Exception:  # noqa: BLE001
            return None

    def _link_self(self, table: SyntheticTable, measured: RelationProfile) -> None:
        relationship = measured.relationship
        if not set(relationship.columns + relationship.parent_columns) <= set(table.data.columns):
            return
        null_share = measured.null_share if self.graph.nullable(relationship) else 0.0
        parents = draw_self_parents(len(table.data), measured.counts(), null_share, self.rng)
        own_keys = table.data[list(relationship.parent_columns)].reset_index(drop=True)
        set_keys(table.data, relationship.columns, own_keys, parents)
        self._mark_linked(table, relationship)

    def _unlinked(self, table: SyntheticTable, relationship: Relationship, why: Unlinked) -> None:
        if why.keep_fakes:
            self.notes[table.ref][relationship.label] = f"keys not linked: {why.reason}"
            return
        if not self.graph.nullable(relationship):
            raise Unpublishable(f"foreign key ({', '.join(relationship.columns)}) cannot be linked: {why.reason}")
        for column in relationship.columns:
            table.data[column] = None
        self.notes[table.ref][relationship.label] = f"keys left empty: {why.reason}"

    @staticmethod
    def _mark_linked(table: SyntheticTable, relationship: Relationship) -> None:
        for column in relationship.columns:
            if column in table.classes:
                table.classes[column] = replace(
                    table.classes[column],
                    reason=f"foreign key to {relationship.parent.qualified}: keys of synthetic parent rows",
                    source="key",
                )

    def _keep_key_unique(
        self,
        table: SyntheticTable,
        relationships: list[Relationship],
        redraw: list[tuple[tuple[str, ...], pd.DataFrame]],
    ) -> None:
        key = table.info.primary_key
        linked = {c for r in relationships for c in r.columns}
        if not key or not set(key) & linked or not set(key) <= set(table.data.columns):
            return
        inside = [(columns, pool) for columns, pool in redraw if set(columns) <= set(key)]
        table.data = unique_key(table.data, key, inside, self.rng)
        if table.gate is not None:
            checks = [c for c in table.gate.checks if c.name != "primary_key"]
            detail = f"0 of {len(table.data)} synthetic rows have a missing or repeated key (after linking keys)"
            table.gate.checks = [*checks, CheckResult("primary_key", True, None, detail)]


def _empty_note(pools: dict[Relationship, pd.DataFrame | Unlinked]) -> list[str]:
    unlinked = sorted({r.parent.qualified for r, pool in pools.items() if isinstance(pool, Unlinked)})
    if not unlinked:
        return []
    return [f"the table is empty: published empty, though its parent {', '.join(unlinked)} has no synthetic keys"]


def _distinct(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    return frame[list(columns)].dropna().drop_duplicates().reset_index(drop=True)


