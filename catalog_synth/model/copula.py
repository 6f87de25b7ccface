"""A Gaussian copula on numpy and scipy, beside SDV's (generator ``copula``).

Each column's marginal is learnt from the protected training rows: numbers by their quantiles
(a draw is interpolated between two neighbouring quantiles), categories by their shares, a missing value as one more share. Rows are tied together by
the correlations of the columns' normal scores. Sampling draws correlated normal scores and
maps each back through its column's marginal; fixing some columns' values draws the others
from the normal scores conditioned on theirs.

What makes it fast: every step is a few numpy operations per column, with no per-row Python and
no transformer library in between (SDV's RDT transformers took most of its fitting time).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from catalog_synth.model.base import Generator, GeneratorConfig

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

# Uniform scores are kept this far from 0 and 1, where normal scores are infinite.
_EDGE = 1e-6
# Training rows per quantile of a number column's marginal.
_ROWS_PER_KNOT = 40
# Added to the correlation matrix's diagonal when it is not positive definite (collinear columns).
_RIDGE = 1e-6


class CopulaConfig(GeneratorConfig):
    """No settings: the marginals and correlations are learnt as they are."""


@dataclass
class _Numbers:
    """A number column: quantiles of its present values (the knots a draw is interpolated
    between) and the share of missing ones (uniforms below it).

    Knots every ``_ROWS_PER_KNOT`` rows, not every row: draws between neighbouring training
    values would follow the training rows' own clusters, and sit closer to them than to rows
    the model never saw (the privacy gate's distance check refuses such a copy). The two outer
    knots are not the extremes themselves but :func:`_outer_quantiles`: with few rows a lone
    extreme (a price far above the others) stretched the end segment over a range only it holds,
    so most draws landed nearer to it than to any held-out row.
    """

    present: np.ndarray
    missing: float

    @classmethod
    def fit(cls, values: pd.Series) -> _Numbers:
        import numpy as np

        numbers = values.to_numpy(dtype="float64")
        present = numbers[~np.isnan(numbers)]
        knots = np.quantile(present, np.linspace(0, 1, 2 + len(present) // _ROWS_PER_KNOT)) if len(present) else present
        if len(present):
            knots[[0, -1]] = _outer_quantiles(np.sort(present))
        return cls(knots, 1 - len(present) / max(len(numbers), 1))

    def to_uniform(self, values: pd.Series, rng: np.random.Generator) -> np.ndarray:
        import numpy as np
        from scipy.stats import rankdata

        numbers = values.to_numpy(dtype="float64")
        missing = np.isnan(numbers)
        uniform = rng.random(len(numbers)) * self.missing  # missing values: below the present ones
        if (~missing).any():
            ranks = rankdata(numbers[~missing], method="ordinal")  # ties spread over their ranks
            uniform[~missing] = self.missing + (1 - self.missing) * (ranks - rng.random(len(ranks))) / len(ranks)
        return uniform

    def from_uniform(self, uniform: np.ndarray, dtype: Any) -> pd.Series:
        import numpy as np
        import pandas as pd

        if not len(self.present):
            return pd.Series(np.full(len(uniform), np.nan))
        share = np.clip((uniform - self.missing) / max(1 - self.missing, _EDGE), 0.0, 1.0)
        positions = share * (len(self.present) - 1)
        numbers = np.interp(positions, np.arange(len(self.present)), self.present)
        return pd.Series(np.where(uniform < self.missing, np.nan, numbers))

    def score(self, value: Any) -> float:
        """The uniform score of a fixed value: its place among the quantiles."""
        import numpy as np

        place = np.interp(float(value), self.present, np.linspace(0, 1, len(self.present))) if len(self.present) else 0.5
        return float(np.clip(self.missing + (1 - self.missing) * place, _EDGE, 1 - _EDGE))


@dataclass
class _Categories:
    """A category column (missing is one more category): its values and their shares as intervals."""

    labels: Any  # the distinct values, in the column's dtype (a missing one included)
    upper: np.ndarray  # each label's interval of uniforms ends here

    @classmethod
    def fit(cls, values: pd.Series) -> _Categories:
        import numpy as np
        import pandas as pd

        codes, labels = pd.factorize(values, use_na_sentinel=False)
        counts = np.bincount(codes, minlength=len(labels)).astype("float64")
        upper = np.cumsum(counts) / max(counts.sum(), 1)
        upper[-1:] = 1.0
        return cls(labels, upper)

    def to_uniform(self, values: pd.Series, rng: np.random.Generator) -> np.ndarray:
        import numpy as np
        import pandas as pd

        codes = pd.Index(self.labels).get_indexer(values)  # the training rows: every value is a label
        lower = np.concatenate([[0.0], self.upper[:-1]])
        return lower[codes] + (self.upper[codes] - lower[codes]) * rng.random(len(codes))

    def from_uniform(self, uniform: np.ndarray, dtype: Any) -> pd.Series:
        import numpy as np
        import pandas as pd

        codes = np.minimum(np.searchsorted(self.upper, uniform, side="right"), len(self.upper) - 1)
        return pd.Series(np.asarray(self.labels).take(codes)).astype(dtype, errors="ignore")

    def score(self, value: Any) -> float:
        """The uniform score of a fixed value: the middle of its interval."""
        import numpy as np
        import pandas as pd

        code = pd.Index(self.labels).get_indexer([value])[0]
        if code < 0:
            raise ValueError("a fixed value the training rows do not hold")
        lower = self.upper[code - 1] if code else 0.0
        return float(np.clip((lower + self.upper[code]) / 2, _EDGE, 1 - _EDGE))


class NumpyCopula(Generator):
    """Empirical marginals tied by a Gaussian copula; fits and samples in a few numpy operations."""

    name = "copula"
    # Like SDV's copula: conditioned on a rare class it draws the other columns much as for any row.
    learns_rare_classes = False
    config_class = CopulaConfig

    def _fit(self, train: pd.DataFrame, sdtypes: dict[str, str]) -> None:
        import numpy as np
        from scipy.special import ndtri

        self.rng = np.random.default_rng(self.seed)
        self.dtypes = dict(train.dtypes)
        self.marginals: dict[str, _Numbers | _Categories] = {
            name: (_Numbers if sdtypes[name] == "numerical" else _Categories).fit(train[name]) for name in train.columns
        }
        uniforms = [marginal.to_uniform(train[name], self.rng) for name, marginal in self.marginals.items()]
        scores = ndtri(np.clip(np.column_stack(uniforms), _EDGE, 1 - _EDGE)) if uniforms else np.zeros((0, 0))
        self.correlation = _correlation(scores)
        self.factor = _factor(self.correlation)

    def _sample(self, n_rows: int) -> pd.DataFrame:
        scores = self.rng.standard_normal((n_rows, len(self.marginals))) @ self.factor.T
        return self._frame(scores, {})

    def _sample_fixed(self, n_rows: int, values: dict[str, Any]) -> pd.DataFrame:
        """Normal scores of the free columns given the fixed columns' (their values' scores)."""
        import numpy as np
        from scipy.special import ndtri

        names = list(self.marginals)
        fixed = [names.index(name) for name in values]
        free = [i for i in range(len(names)) if i not in fixed]
        given = ndtri(np.array([self.marginals[name].score(value) for name, value in values.items()]))
        c = self.correlation
        weights = c[np.ix_(free, fixed)] @ np.linalg.pinv(c[np.ix_(fixed, fixed)])
        mean = weights @ given
        covariance = c[np.ix_(free, free)] - weights @ c[np.ix_(fixed, free)]
        scores = np.empty((n_rows, len(names)))
        scores[:, free] = mean + self.rng.standard_normal((n_rows, len(free))) @ _factor(covariance).T
        scores[:, fixed] = given
        return self._frame(scores, values)

    def _frame(self, scores: np.ndarray, fixed: dict[str, Any]) -> pd.DataFrame:
        import pandas as pd
        from scipy.special import ndtr

        uniform = ndtr(scores)
        columns = {
            name: marginal.from_uniform(uniform[:, i], self.dtypes[name])
            for i, (name, marginal) in enumerate(self.marginals.items())
        }
        frame = pd.DataFrame(columns, index=pd.RangeIndex(len(scores)))
        for name, value in fixed.items():
            frame[name] = value
        return frame


def _outer_quantiles(ordered: np.ndarray) -> tuple[float, float]:
    """Harrell-Davis estimates of the quantiles at 1 / (n + 1) and n / (n + 1) of ``n`` sorted
    values: weighted means of the lowest and of the highest values (the extreme weighs about 0.63,
    the next 0.23, the next 0.09), where the weights are those of a Beta(n, 1) distribution
    (Harrell and Davis, Biometrika 69, 1982)."""
    import numpy as np

    n = len(ordered)
    weights = np.diff((np.arange(n + 1) / n) ** n)  # the i-th largest value's weight, from the smallest
    return float(weights[::-1] @ ordered), float(weights @ ordered)


def _correlation(scores: np.ndarray) -> np.ndarray:
    """Correlations of the normal scores; a constant column correlates with nothing."""
    import numpy as np

    columns = scores.shape[1]
    if len(scores) < 2 or columns == 0:
        return np.eye(columns)
    with np.errstate(invalid="ignore", divide="ignore"):
        correlation = np.corrcoef(scores, rowvar=False).reshape(columns, columns)
    correlation = np.nan_to_num(correlation, nan=0.0)
    np.fill_diagonal(correlation, 1.0)
    return correlation


def _factor(matrix: np.ndarray) -> np.ndarray:
    """A factor ``F`` with ``F @ F.T`` the (symmetric) matrix, its eigenvalues kept positive."""
    import numpy as np

    if matrix.size == 0:
        return matrix
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return vectors * np.sqrt(np.clip(values, _RIDGE, None))
