"""What the sync hands a worker for one table (:class:`TableTask`) and what it gets back
(:class:`TableOutcome`): picklable, and free of real values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from catalog_synth.core.config import WarehouseConfig
from catalog_synth.core.types import (
    SynthesisSettings,
    SyntheticTable,
    TableInfo,
    TableRef,
    TableResult,
    TableStatus,
)
from catalog_synth.link.plan import KeyPlan

if TYPE_CHECKING:
    from catalog_synth.link.profile import KeyProfile

UNCHANGED = "unchanged since the last sync"


@dataclass(frozen=True)
class TableTask:
    """One unit of work for an executor: everything a worker needs, nothing more."""

    warehouse: WarehouseConfig
    ref: TableRef
    settings: SynthesisSettings
    sample_rows: int
    previous_fingerprint: str | None = None
    retries: int = 2
    retry_backoff_seconds: float = 1.0
    keys: KeyPlan = KeyPlan()
    # The description and fingerprint planning read (None when it could not: the worker tries).
    info: TableInfo | None = None
    fingerprint: str | None = None
    # A rebalanced copy: the name it is stored under, and its request's digest (in its fingerprint).
    output: TableRef | None = None
    variant: str = ""
    # The table's rebalanced copies and what each holds, for its catalog page's links.
    copies: tuple[tuple[TableRef, str], ...] = ()
    # Why the last sync did not publish the table, for a reason that holds while its
    # fingerprint does (skipped, failed the gate, refused); "" when it was published.
    settled_reason: str = ""

    @property
    def unchanged(self) -> bool:
        """Planning already shows the table as it was at the last sync."""
        return self.fingerprint is not None and self.fingerprint == self.previous_fingerprint

    @property
    def output_name(self) -> str | None:
        return self.output.name if self.output else None

    def failed(self, reason: str, seconds: float = 0.0) -> TableOutcome:
        """The outcome when the executor gives up on this table (time limit, dead worker)."""
        return TableOutcome(TableResult(self.ref, TableStatus.FAILED, reason, seconds=seconds, output=self.output_name))


@dataclass
class TableOutcome:
    """A worker's answer. ``table`` is set only when synthesis and the gate passed."""

    result: TableResult
    table: SyntheticTable | None = None
    fingerprint: str | None = None
    platform: str = ""
    dialect: str = ""
    database: str | None = None
    keys: KeyProfile | None = None  # children-per-parent shapes (aggregates), for the key linker
    # Not published for a reason that holds until the fingerprint changes (skipped, failed the
    # gate, refused; not a timeout or a lost connection): remembered, not retried every run.
    settled: bool = False


def unchanged_outcome(task: TableTask, fingerprint: str | None) -> TableOutcome:
    """The outcome of a table as it was at the last sync; one left unpublished then still is."""
    result = TableResult(task.ref, TableStatus.UNCHANGED, task.settled_reason or UNCHANGED, output=task.output_name)
    return TableOutcome(result, fingerprint=fingerprint, settled=bool(task.settled_reason))
