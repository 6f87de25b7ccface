"""MOSTLY AI's TabularARGN (``mostlyai-engine``, Apache-2.0), on CPU, within a time budget.

A base dependency (the generator of rebalanced copies). Its own value protection stays on
(rare categories and extremes counted per subject, before training), in addition to the
pipeline's. The engine's workspace (encoded training data, statistics, weights) lives in a
temporary folder that is deleted when sampling ends: no model is kept.
"""

from __future__ import annotations

import importlib.util
import tempfile
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import Field

from catalog_synth.model.base import Generator, GeneratorConfig, GeneratorReport, Target

if TYPE_CHECKING:
    import pandas as pd

EXTRA = "it is a dependency of catalog-synth: reinstall it (bash .ci/install, or pip install -e .)"
_ENCODINGS = {"categorical": "TABULAR_CATEGORICAL", "boolean": "TABULAR_CATEGORICAL", "numerical": "TABULAR_NUMERIC_AUTO"}


# Share of the time budget given to training; the engine's analysis and encoding before it and
# sampling after it take the rest (on 2 cores, seconds: 125,000 sampled rows took 4-10 s).
TRAINING_SHARE = 0.85


class TabularARGNConfig(GeneratorConfig):
    # Fit and sample of one table: training stops at TRAINING_SHARE of it (or at max_epochs, or
    # when the validation loss stops improving).
    time_budget_seconds: float = Field(default=60.0, gt=0)
    max_epochs: float = Field(default=100.0, gt=0)
    # MOSTLY_AI/Small, MOSTLY_AI/Medium (the engine's default) or MOSTLY_AI/Large.
    model: str = "MOSTLY_AI/Medium"


@dataclass
class TabularARGNReport(GeneratorReport):
    stopped_by: str = ""  # "time budget", "max_epochs" or "early stopping"


class TabularARGN(Generator):
    name = "tabular_argn"
    preload = ("mostlyai.engine",)  # torch: seconds, once per run's worker server
    config_class = TabularARGNConfig
    report_class = TabularARGNReport

    @classmethod
    def missing_requirement(cls) -> str | None:
        try:
            found = importlib.util.find_spec("mostlyai.engine") is not None
        except ImportError:  # no "mostlyai" package at all
            found = False
        return None if found else f"the tabular_argn generator needs mostlyai-engine; {EXTRA}"

    def _fit(self, train: pd.DataFrame, sdtypes: dict[str, str]) -> None:
        from mostlyai.engine import (
            TabularARGN as Engine,  # heavy import (torch): only when fitting
        )

        self.workspace = tempfile.TemporaryDirectory(prefix="catalog-synth-argn-")
        self.columns = list(train.columns)
        self.engine = Engine(
            model=self.config.model,
            max_training_time=self.training_seconds / 60,  # the engine counts minutes
            max_epochs=self.config.max_epochs,
            value_protection=True,
            tgt_encoding_types={name: _ENCODINGS[sdtypes[name]] for name in self.columns},
            device="cpu",
            workspace_dir=self.workspace.name,
            random_state=self.seed,
            verbose=0,
        )
        self.engine.fit(_engine_frame(train, sdtypes))
        self.sdtypes = sdtypes
        # Numbers learnt as categories come back as text: they go back to numbers.
        self.numbers = {name for name in self.columns if train[name].dtype.kind in "iuf"}
        self._record_training()

    def _record_training(self) -> None:
        import pandas as pd

        progress = pd.read_csv(f"{self.workspace.name}/ModelStore/model-data/progress-messages.csv")
        last = progress.iloc[-1]
        self.report.epochs = round(float(last["epoch"]), 2)
        if last["epoch"] >= self.config.max_epochs:
            self.report.stopped_by = "max_epochs"
        elif last["total_time"] >= self.training_seconds:
            self.report.stopped_by = "time budget"
        else:
            self.report.stopped_by = "early stopping"

    @property
    def training_seconds(self) -> float:
        return self.config.time_budget_seconds * TRAINING_SHARE

    def _sample_target(self, n_rows: int, target: Target) -> pd.DataFrame:
        """One category column: the engine's own rebalancing, in one pass. Otherwise fixed seeds."""
        column = target.columns[0]
        texts = all(isinstance(values[0], str) for values, _ in target.shares)
        if len(target.columns) > 1 or self.sdtypes[column] != "categorical" or not texts:
            return super()._sample_target(n_rows, target)
        from mostlyai.engine.domain import RebalancingConfig

        rebalancing = RebalancingConfig(column=column, probabilities={values[0]: share for values, share in target.shares})
        return self._generated(self.engine.sample(n_samples=n_rows, rebalancing=rebalancing, **_SAMPLING))

    def _sample(self, n_rows: int) -> pd.DataFrame:
        return self._generated(self.engine.sample(n_samples=max(n_rows, 1), **_SAMPLING).head(n_rows))

    def _sample_fixed(self, n_rows: int, values: dict[str, Any]) -> pd.DataFrame:
        import pandas as pd

        seed = pd.DataFrame({name: [value] * n_rows for name, value in values.items()})
        return self._generated(self.engine.sample(seed_data=_engine_frame(seed, self.sdtypes), **_SAMPLING))

    def _generated(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Back to model space: the engine returns its own dtypes (strings, nullable numbers)."""
        import pandas as pd

        out = {}
        for name in self.columns:
            values = frame[name]
            if name in self.numbers:
                out[name] = pd.to_numeric(values, errors="coerce").astype("float64")
            elif self.sdtypes[name] == "boolean":
                out[name] = values.map({"True": True, "False": False}, na_action="ignore").astype(object)
            else:
                out[name] = values.astype(object).where(values.notna(), None)
        return pd.DataFrame(out).reset_index(drop=True)

    def close(self) -> None:
        workspace = getattr(self, "workspace", None)
        if workspace is not None:
            workspace.cleanup()


# Rare categories the engine's own protection holds back come out as other categories, never as
# its "_RARE_" placeholder.
_SAMPLING = {"device": "cpu", "rare_category_replacement_method": "sample"}


def _engine_frame(frame: pd.DataFrame, sdtypes: dict[str, str]) -> pd.DataFrame:
    """Booleans as text (the engine's categories), everything else as the pipeline has it."""
    out = frame.copy()
    for name in out.columns:
        if sdtypes[name] == "boolean":
            out[name] = out[name].map(str, na_action="ignore")
    return out

