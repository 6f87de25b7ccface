"""SDV's single-table synthesizers: GaussianCopula (the default), CTGAN and TVAE.

SDV, RDT, Copulas and CTGAN are under the Business Source License 1.1. SDV is imported
only when a model is fitted.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field

from catalog_synth.model.base import Generator, GeneratorConfig

if TYPE_CHECKING:
    import pandas as pd

_TABLE = "table"
# Values SDV's transformers would otherwise round or clip differently from the pipeline.
_COMMON = {"enforce_min_max_values": True, "enforce_rounding": True}
# Training rows from which a category's code is fitted as 'uniform' by GaussianCopula (see _arguments).
UNIFORM_CATEGORIES_MIN_ROWS = 30


class SDVGenerator(Generator):
    """The SDV fit/sample cycle; subclasses name the synthesizer and its arguments."""

    synthesizer_class: ClassVar[str]
    preload = ("sdv.single_table", "sdv.metadata")  # and the SDMetrics and torch they import: seconds

    def _arguments(self, sdtypes: dict[str, str], rows: int) -> dict[str, Any]:
        return {}

    def _fit(self, train: pd.DataFrame, sdtypes: dict[str, str]) -> None:
        from sdv import single_table
        from sdv.metadata import Metadata  # heavy imports: only when fitting

        columns = {name: {"sdtype": sdtype} for name, sdtype in sdtypes.items()}
        metadata = Metadata.load_from_dict({"tables": {_TABLE: {"columns": columns}}})
        arguments = self._arguments(sdtypes, len(train))
        synthesizer = getattr(single_table, self.synthesizer_class)(metadata, **_COMMON, **arguments)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _vectorise_categories(synthesizer, {_TABLE: train})
            synthesizer.fit({_TABLE: train})
        # SDV 2.0 has no public way to seed sampling; this is what its sample() calls itself.
        synthesizer._set_random_state(self.seed)
        self.synthesizer = synthesizer
        self.report.epochs = getattr(self.config, "epochs", None)

    def _sample(self, n_rows: int) -> pd.DataFrame:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return self.synthesizer.sample(n_rows)[_TABLE]

    def _sample_fixed(self, n_rows: int, values: dict[str, Any]) -> pd.DataFrame:
        from sdv.sampling import Condition

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return self.synthesizer.sample_from_conditions([Condition(column_values=values, num_rows=n_rows)])[_TABLE]


def _vectorise_categories(synthesizer: Any, data: dict[str, pd.DataFrame]) -> None:
    """SDV's own transformer choice, with each ``UniformEncoder`` swapped for one that encodes a
    column at once (the same values, a fifth less fitting time on a 10-column table): SDV's
    documented ``auto_assign_transformers`` / ``update_transformers``."""
    from catalog_synth.model.encoders import vectorised

    synthesizer.auto_assign_transformers(data)
    faster = vectorised(synthesizer.get_transformers())
    if faster:
        synthesizer.update_transformers(faster)


class GaussianCopulaConfig(GeneratorConfig):
    # 'norm' fits in closed form; 'truncnorm' fits by numerical optimisation (~12 ms a column) and
    # scored no better on bench/quality.py (median 0.888 against 0.885). SDV's min/max enforcement
    # keeps bounded columns bounded either way.
    distribution: Literal["norm", "beta", "truncnorm", "gamma", "uniform", "gaussian_kde"] = "norm"


class GaussianCopula(SDVGenerator):
    name = "gaussian_copula"
    # Conditioned on a rare class it draws the other columns much as for any row (benchmark: a
    # model trained on its rebalanced copy scores worse than on the imbalanced rows).
    learns_rare_classes = False
    config_class = GaussianCopulaConfig
    synthesizer_class = "GaussianCopulaSynthesizer"

    def _arguments(self, sdtypes: dict[str, str], rows: int) -> dict[str, Any]:
        # A category reaches the copula as SDV's UniformEncoder makes it: uniform on [0, 1] by
        # construction, so its marginal is 'uniform'. Fitted as a normal, the middle categories
        # came out too often and the first and last too rarely (TPC-H's ship modes 6,660 to
        # 12,108 rows where the warehouse has 8,482 to 8,710 each).
        # With few rows, a uniform fitted on the codes' own least and greatest values puts the rows
        # holding them at the copula's clipped extremes, where they drive the correlations: a
        # 12-row table's copy sat on its training rows (TPC-DS stores: distance check 1.000). As
        # normals, the middle categories come out too often (Chinook's 59 customers: more Canadian
        # rows than the real mix), so the uniform is kept from a few dozen rows.
        if rows < UNIFORM_CATEGORIES_MIN_ROWS:
            return {"default_distribution": self.config.distribution}
        categories = {name: "uniform" for name, sdtype in sdtypes.items() if sdtype == "categorical"}
        return {"default_distribution": self.config.distribution, "numerical_distributions": categories}


class NeuralConfig(GeneratorConfig):
    # SDV's default; on CPU each epoch over 2,000 rows takes about a tenth of a second (TVAE) to
    # half a second (CTGAN).
    epochs: int = Field(default=300, ge=1)
    batch_size: int = Field(default=500, ge=10, multiple_of=10)


class NeuralSDVGenerator(SDVGenerator):
    """CTGAN and TVAE: the same settings."""

    config_class = NeuralConfig

    def _arguments(self, sdtypes: dict[str, str], rows: int) -> dict[str, Any]:
        return {"epochs": self.config.epochs, "batch_size": self.config.batch_size}


class CTGAN(NeuralSDVGenerator):
    name = "ctgan"
    synthesizer_class = "CTGANSynthesizer"


class TVAE(NeuralSDVGenerator):
    name = "tvae"
    synthesizer_class = "TVAESynthesizer"
