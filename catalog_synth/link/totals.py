"""Parents whose amounts are their children's sums (an invoice's total) wait for those children.

A parent with a ``total`` rule (link/rules.py) is linked and hands out its keys as any table, but
is not published until every child its totals come from has been linked in this run (or will
not come): then :func:`catalog_synth.link.enforce.total` sets the sums, and it is released.
A child left unchanged by an incremental sync is not re-read: its parent keeps its generated
amounts, and its note says so.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from catalog_synth.core.types import SyntheticTable, TableRef
from catalog_synth.link.enforce import total
from catalog_synth.link.profile import Outcome
from catalog_synth.link.rules import Rule


class WaitingParents:
    def __init__(self) -> None:
        self.parents: dict[TableRef, Outcome] = {}  # linked, not yet released

    def wait(self, outcome: Outcome, coming: Callable[[TableRef], bool]) -> bool:
        """Whether ``outcome`` (just linked) waits for children of this run still to be linked."""
        if any(coming(rule.relationship.child) for rule in _totals(outcome)):
            self.parents[outcome.result.ref] = outcome
            return True
        return False

    def child_linked(self, child: SyntheticTable, rng: np.random.Generator) -> None:
        """Set the totals that come from ``child`` on the parents waiting for it."""
        for parent in self.parents.values():
            for rule in _totals(parent):
                if rule.relationship.child == child.ref:
                    note = total(parent.table, rule, child.data, rng).note()
                    parent.table.notes, parent.result.notes = [*parent.table.notes, note], [*parent.result.notes, note]

    def ready(self, coming: Callable[[TableRef], bool]) -> list[Outcome]:
        """The parents no child of this run is still to come for, released."""
        released = [o for o in self.parents.values() if not any(coming(r.relationship.child) for r in _totals(o))]
        for outcome in released:
            del self.parents[outcome.result.ref]
        return released


def sums_over(outcome: Outcome, child: TableRef) -> bool:
    """Whether totals of ``outcome``'s table are sums over ``child`` (which is then linked after it)."""
    return any(rule.relationship.child == child for rule in _totals(outcome))


def _totals(outcome: Outcome) -> list[Rule]:
    keys = outcome.keys
    return [rule for rule in (keys.rules if keys else []) if rule.kind == "total"]
