"""What every generator shares: its config, its report, conditioning, and the fit/sample frame.

A generator is fitted on the prepared training frame — already privacy-protected: no
identifying column, no rare category, dates as seconds — with the model types the synthesis
stage chose (``sdtypes``: categorical, numerical, boolean), and samples rows in the same model
space. The protections before it (:mod:`catalog_synth.protect`) and the privacy gate after it
(:mod:`catalog_synth.gate`) are applied by :mod:`catalog_synth.run.synthesize`, so every
generator gets them.

Subclasses override :meth:`Generator._fit`, :meth:`Generator._sample` and, when the model can
fix column values itself, :meth:`Generator._sample_fixed`; the base class times the work,
fills the report and turns a :class:`Target` into fixed-value and unconditioned draws.

Loading a generator class (the config does, to validate settings) imports neither pandas nor
the privacy stage: they are imported where rows are handled.
"""

from __future__ import annotations

import math
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict

from catalog_synth.core.generators import GeneratorReport

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

# Rounds of unconditioned sampling used to fill the rows outside a target's values.
OTHER_ROWS_ROUNDS = 5


class GeneratorUnavailable(RuntimeError):
    """The generator's library is not installed; the message names the extra to install."""


class GeneratorConfig(BaseModel):
    """Settings of one generator (``generators.<name>`` and ``tables.<glob>.settings`` in the config)."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class Target:
    """Shares of the rows wanted for combinations of values of ``columns`` (model-space values).

    The remaining rows keep the model's own mix of everything else.
    """

    columns: tuple[str, ...]
    shares: tuple[tuple[tuple[Any, ...], float], ...]  # (values, share) pairs

    def matches(self, frame: pd.DataFrame) -> np.ndarray:
        """Rows equal (normalised) to one of the target combinations."""
        from catalog_synth.core.values import normalize

        keys = frame[list(self.columns)].map(normalize).apply(tuple, axis=1)
        wanted = {tuple(normalize(value) for value in values) for values, _ in self.shares}
        return keys.isin(wanted).to_numpy()


class Generator(ABC):
    """Fits one table's training frame and samples rows from it. One instance per fit."""

    name: ClassVar[str]
    config_class: ClassVar[type[GeneratorConfig]] = GeneratorConfig
    report_class: ClassVar[type[GeneratorReport]] = GeneratorReport
    # False for a generator whose conditioned sampling does not learn how a rare class differs:
    # used for a rebalanced copy only when named, with a warning.
    learns_rare_classes: ClassVar[bool] = True
    # Modules a worker imports once, before its first table, when a run uses this generator.
    preload: ClassVar[tuple[str, ...]] = ()

    def __init__(self, config: GeneratorConfig, seed: int):
        self.config = config
        self.seed = seed
        self.report = self.report_class(self.name)

    @classmethod
    def missing_requirement(cls) -> str | None:
        """Why the generator cannot run here (a library to install), or None. Must import nothing heavy."""
        return None

    def fit(self, train: pd.DataFrame, sdtypes: dict[str, str]) -> None:
        """Learn ``train`` (model space; ``sdtypes`` per column: categorical, numerical or boolean)."""
        problem = self.missing_requirement()
        if problem:
            raise GeneratorUnavailable(problem)
        started = time.perf_counter()
        self._fit(train, sdtypes)
        self.report.fit_seconds += time.perf_counter() - started

    def sample(self, n_rows: int, target: Target | None = None) -> pd.DataFrame:
        """``n_rows`` rows; with a target, its shares of rows hold its values (fewer rows when the
        model almost never produces anything else)."""
        started = time.perf_counter()
        if target is None:
            sampled = self._sample(n_rows)
        else:
            sampled = self._sample_target(n_rows, target)
        self.report.sample_seconds += time.perf_counter() - started
        self.report.rows_sampled += len(sampled)
        return sampled.reset_index(drop=True)

    def _sample_target(self, n_rows: int, target: Target) -> pd.DataFrame:
        import pandas as pd

        parts = [
            self._sample_fixed(count, dict(zip(target.columns, values)))
            for values, count in zip((values for values, _ in target.shares), _counts(n_rows, target))
            if count
        ]
        parts.append(self._sample_other(n_rows - sum(len(part) for part in parts), target))
        return pd.concat(parts, ignore_index=True).sample(frac=1.0, random_state=self.seed)

    def _sample_other(self, n_rows: int, target: Target) -> pd.DataFrame:
        """Unconditioned rows outside the target's values."""
        import pandas as pd

        kept: list[pd.DataFrame] = []
        missing, keep_share = n_rows, 1.0
        for _ in range(OTHER_ROWS_ROUNDS if n_rows > 0 else 0):
            drawn = self._sample(math.ceil(missing / max(keep_share, 0.05)) + 10)
            outside = drawn[~target.matches(drawn)]
            keep_share = max(len(outside) / len(drawn), 0.01)
            kept.append(outside.head(missing))
            missing -= len(kept[-1])
            if missing <= 0:
                break
        return pd.concat(kept, ignore_index=True) if kept else self._sample(1).head(0)

    def close(self) -> None:
        """Release what the fit holds (temporary files); the model is not kept."""

    @abstractmethod
    def _fit(self, train: pd.DataFrame, sdtypes: dict[str, str]) -> None: ...

    @abstractmethod
    def _sample(self, n_rows: int) -> pd.DataFrame: ...

    def _sample_fixed(self, n_rows: int, values: dict[str, Any]) -> pd.DataFrame:
        """Rows whose ``values`` columns hold the given values. Generators that cannot condition
        leave this out: rebalanced copies then name the generator as unable to make them."""
        raise NotImplementedError(f"the {self.name} generator cannot sample rows with fixed column values")


def _counts(n_rows: int, target: Target) -> list[int]:
    return [int(round(n_rows * share)) for _, share in target.shares]
