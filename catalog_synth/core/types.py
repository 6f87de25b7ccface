"""Data types shared by every stage of the pipeline.

read (connectors) -> model (synthesis) -> gate (privacy) -> store (DuckDB)
-> publish (catalog sinks) -> serve (sandbox)

Only :class:`TableInfo` and synthetic frames cross stage boundaries; real
sample frames never leave the synthesis/gate stage.
"""

from __future__ import annotations

import enum
import fnmatch
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from catalog_synth.core.rule_notes import rules_of
from catalog_synth.core.timings import StageTimes

if TYPE_CHECKING:
    import pandas as pd  # not at run time: a no-change sync never loads pandas

    from catalog_synth.core.generators import GeneratorReport


class ColumnKind(str, enum.Enum):
    """The logical type of a column, mapped from its SQL type (never guessed from pandas)."""

    INTEGER = "integer"
    FLOAT = "float"
    DECIMAL = "decimal"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    STRING = "string"
    UUID = "uuid"
    # Types SDV cannot model and that have no sensible synthetic value:
    # json, arrays, binary, interval, geometry, time ...
    UNSUPPORTED = "unsupported"


@dataclass(frozen=True, order=True)
class TableRef:
    """A table in a warehouse. ``schema`` is ``main`` for SQLite/DuckDB files."""

    warehouse: str
    schema: str
    name: str

    @property
    def qualified(self) -> str:
        """``schema.table``: the name users type (``preview``, ``report``)."""
        return f"{self.schema}.{self.name}"

    def __str__(self) -> str:
        return f"{self.warehouse}:{self.qualified}"


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    sql_type: str
    kind: ColumnKind
    nullable: bool = True
    precision: int | None = None
    scale: int | None = None
    # Why an UNSUPPORTED column is unsupported ("json", "array", "binary" ...).
    unsupported_reason: str | None = None
    # Most characters a text column holds (VARCHAR(n), CHAR(n)); None when unbounded.
    length: int | None = None
    # CHAR(n): the warehouse pads values with spaces and ignores the padding when comparing.
    padded: bool = False
    # The labels of an enum type (schema metadata, not data).
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class ForeignKey:
    columns: tuple[str, ...]
    referred: TableRef
    referred_columns: tuple[str, ...]
    # "warehouse" when declared in the database, "config" when declared by the user.
    origin: str = "warehouse"


@dataclass
class TableInfo:
    ref: TableRef
    columns: list[ColumnInfo]
    primary_key: tuple[str, ...] = ()
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    row_count: int = 0
    # True when row_count comes from catalog statistics rather than COUNT(*).
    row_count_estimated: bool = False

    def column(self, name: str) -> ColumnInfo:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)


class TableStatus(str, enum.Enum):
    SYNTHESIZED = "synthesized"
    SKIPPED = "skipped"
    FAILED = "failed"
    UNCHANGED = "unchanged"


@dataclass
class QualityScore:
    """SDMetrics QualityReport aggregates. Never carries real values."""

    overall: float
    column_shapes: float
    column_pair_trends: float
    # The lowest per-column shape and per-pair trend scores, what drags a score down: column
    # names and scores only. Not part of equality (the aggregates are the score).
    weakest: dict[str, list] = field(default_factory=dict, compare=False)

    def as_dict(self) -> dict[str, float]:
        scores = {
            "overall": self.overall,
            "column_shapes": self.column_shapes,
            "column_pair_trends": self.column_pair_trends,
        }
        return {**scores, "weakest": self.weakest} if self.weakest else scores


@dataclass
class CheckResult:
    """One privacy-gate check. ``detail`` is aggregate text only (counts, shares)."""

    name: str
    passed: bool
    column: str | None = None
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "passed": self.passed, "column": self.column, "detail": self.detail}


@dataclass
class GateResult:
    checks: list[CheckResult] = field(default_factory=list)
    attempts: int = 1

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    def failures(self) -> list[CheckResult]:
        return [check for check in self.checks if not check.passed]

    def summary(self) -> str:
        failed = self.failures()
        if not failed:
            return f"passed {len(self.checks)} checks"
        return "; ".join(
            f"{c.name}" + (f" on column {c.column!r}" if c.column else "") + (f": {c.detail}" if c.detail else "")
            for c in failed
        )

    def as_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "attempts": self.attempts, "checks": [c.as_dict() for c in self.checks]}


class Semantic(str, enum.Enum):
    """What a column's values are. The identifying kinds are bound to their recognizers and fake
    makers in :mod:`catalog_synth.protect.kinds` (where a plugin may register more, under its own
    name); the modelled ones are learnt by the generator."""

    # identifying: replaced by format-preserving fakes, never modelled
    EMAIL = "email"
    PHONE = "phone"
    ADDRESS = "address"
    PERSON_NAME = "person_name"
    COMPANY = "company"
    POSTAL_CODE = "postal_code"
    IBAN = "iban"
    CREDIT_CARD = "credit_card"
    NATIONAL_ID = "national_id"
    IP_ADDRESS = "ip_address"
    URL = "url"
    UUID = "uuid"
    FREE_TEXT = "free_text"
    IDENTIFIER = "identifier"
    # modelled
    CATEGORICAL = "categorical"
    NUMERICAL = "numerical"
    DATETIME = "datetime"
    BOOLEAN = "boolean"
    # left out of the copy
    UNSUPPORTED = "unsupported"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class ColumnClass:
    """How the privacy stage treats one column.

    ``semantic`` is a :class:`Semantic` (or the name of a kind a plugin registered);
    ``reason`` explains the decision without quoting any value.
    """

    column: str
    semantic: str
    identifying: bool
    reason: str
    source: str  # "name" | "content" | "type" | "override" | "key"

    def as_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "semantic": self.semantic,
            "identifying": self.identifying,
            "reason": self.reason,
            "source": self.source,
        }


@dataclass
class SyntheticTable:
    """What the synthesis stage hands to the store and the catalog sinks.

    Everything in it is synthetic or aggregate: it is safe to persist and publish.
    """

    ref: TableRef
    info: TableInfo
    data: pd.DataFrame  # the synthetic copy; the preview is its first ``preview_rows`` rows
    preview_rows: int
    classes: dict[str, ColumnClass] = field(default_factory=dict)
    dropped_columns: dict[str, str] = field(default_factory=dict)  # column -> reason
    quality: QualityScore | None = None
    gate: GateResult | None = None
    synced_at: datetime | None = None
    notes: list[str] = field(default_factory=list)  # how the copy was made, for the summary and report
    generator: GeneratorReport | None = None  # what the model did: times, epochs, rows
    # A rebalanced copy: real (sample) and synthetic share of each target class.
    rebalance: dict[str, Any] | None = None
    # Rebalanced copies made from this table, and what each holds (for the catalog's links).
    copies: list[tuple[TableRef, str]] = field(default_factory=list)
    # Why the copy has fewer rows than asked: one reason per step that removed rows for good.
    shortfall: list[str] = field(default_factory=list)

    @property
    def preview(self) -> pd.DataFrame:
        return self.data.head(self.preview_rows)


ROWS_NOTE = "rows asked"


def with_rows_note(notes: list[str], asked: int, written: int, reasons: list[str]) -> list[str]:
    """``notes`` with one up-to-date note on a copy short of the rows asked (and why)."""
    kept = [note for note in notes if ROWS_NOTE not in note]
    if written >= asked:
        return kept
    why = "; ".join(reasons) or "rows were removed by the protections and no replacement could be drawn"
    return [*kept, f"{written} of the {asked} {ROWS_NOTE}: {why}"]


@dataclass
class TableResult:
    """The outcome of one table in a run, for summaries and reports."""

    ref: TableRef
    status: TableStatus
    reason: str = ""
    rows_read: int = 0
    rows_written: int = 0
    seconds: float = 0.0
    quality: QualityScore | None = None
    rows_asked: int = 0  # rows the copy should have (copy_rows, the family's size, the real rows)
    gate: GateResult | None = None
    notes: list[str] = field(default_factory=list)
    generator: dict[str, Any] | None = None
    rebalance: dict[str, Any] | None = None
    # The synthetic table's name when it is not the real table's (a rebalanced copy).
    output: str | None = None
    stages: StageTimes = field(default_factory=StageTimes)  # where this table's time went

    @property
    def stored_ref(self) -> TableRef:
        """The synthetic table this result is about (a rebalanced copy has its own name)."""
        return TableRef(self.ref.warehouse, self.ref.schema, self.output) if self.output else self.ref

    def as_dict(self) -> dict[str, Any]:
        return {
            "warehouse": self.ref.warehouse,
            "table": self.ref.qualified,
            "status": self.status.value,
            "reason": self.reason,
            "rows_read": self.rows_read,
            "rows_written": self.rows_written,
            "rows_asked": self.rows_asked,
            "seconds": round(self.seconds, 3),
            "quality": self.quality.as_dict() if self.quality else None,
            "gate": self.gate.as_dict() if self.gate else None,
            "notes": list(self.notes),
            "rules": rules_of(self.notes),
            "generator": self.generator,
            "rebalance": self.rebalance,
            "output": self.output,
            "stages": self.stages.as_dict(),
        }



@dataclass(frozen=True)
class SynthesisSettings:
    """Everything the synthesis stage needs to know about one table's run."""

    copy_rows: int
    preview_rows: int
    synthesizer: str = "gaussian_copula"
    seed: int | None = None
    # column name or glob -> "sensitive" | "public", from the config's ``columns`` overrides.
    overrides: dict[str, str] = field(default_factory=dict)
    min_category_count: int = 5
    dcr_threshold: float = 0.55
    holdout_share: float = 0.2
    unique_share: float = 0.9
    min_rows: int = 10
    # A table about no one of at most this many rows keeps its word labels (None: never), as a
    # lookup table does (privacy.reference_max_rows; privacy.reference_tables: false gives None).
    reference_max_rows: int | None = 1000
    # Accept a connector without whole-warehouse value counts or key lookups (fakes then checked
    # against the sample only); without it such a table is refused.
    allow_sample_only_checks: bool = False
    # Key columns the key linker (catalog_synth.link) re-draws after synthesis: foreign keys
    # and the counters numbering each parent's children. A primary key that includes one is
    # made unique (and checked) after linking, not here.
    relinked: tuple[str, ...] = ()
    # Settings of the generator named by ``synthesizer`` (validated by its config class).
    generator_settings: dict[str, Any] = field(default_factory=dict)
    rebalance: RebalanceSpec | None = None

    def override_for(self, column: str) -> str | None:
        """The override of a column: its own entry, else the last glob that matches it."""
        if column in self.overrides:
            return self.overrides[column]
        matching = [value for pattern, value in self.overrides.items() if fnmatch.fnmatchcase(column, pattern)]
        return matching[-1] if matching else None


@dataclass(frozen=True)
class RebalanceSpec:
    """A rebalanced copy: the share of rows wanted for each combination of values of ``columns``.

    One column with one or more values (``income: {">50K": 0.5}``), or a subgroup over several
    columns (``sex = Female and income = >50K``: one combination). Values are as written in the
    config; the synthesis stage matches them to the sampled categories.
    """

    columns: tuple[str, ...]
    target: tuple[tuple[tuple[Any, ...], float], ...]
    rows: int | None = None
    # Rows outside the target classes the model learns from (None: all); every target-class row is
    # kept, and shown to the model ``target_weight`` times.
    other_rows: int | None = None
    target_weight: int = 1
    # The least AUC-ROC gain over the imbalanced real rows for the copy to be published (None: any).
    min_gain: float | None = None


class TableSkipped(Exception):
    """The table cannot be synthesized; the message is the reason (never a real value)."""


class SynthesisError(RuntimeError):
    """The model could not be fitted or sampled (the message names a column, never a value)."""


class GateFailed(Exception):
    """The synthetic output failed the privacy gate twice: nothing of it is published."""

    def __init__(self, gate: GateResult):
        super().__init__(f"privacy gate failed: {gate.summary()}")
        self.gate = gate
