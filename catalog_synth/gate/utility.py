"""How much a rebalanced copy helps, measured on the real sample where the work runs.

* **utility**: a quick model (LightGBM if installed, else scikit-learn's histogram gradient
  boosting) learns "is the row in a target class" from the copy, and again from the imbalanced
  real training rows; both are scored on the held-out real rows (people held out whole, as the
  privacy gate holds them out). AUC-ROC and AUC-PR of each, and the gain in AUC-ROC;
* **diversity**: the Shannon entropy (bits) of each categorical column within the target
  classes, real sample against copy (a copy that repeats a few minority profiles has less).

Aggregates only: counts, scores and column names, never a value.
"""

from __future__ import annotations

import importlib.util
import math
import zlib
from typing import Any

import numpy as np
import pandas as pd

from catalog_synth.core.types import Semantic
from catalog_synth.core.values import as_numbers
from catalog_synth.model import Target
from catalog_synth.model.sample import model_sdtype
from catalog_synth.protect.prepare import PreparedTable

# Trees of the quick model: LightGBM's and scikit-learn's default.
QUICK_TREES = 100
# Training rows given to the quick model at most (each side): seconds, not minutes.
QUICK_MAX_ROWS = 50_000


def rebalance_utility(
    table: PreparedTable, synthetic: pd.DataFrame, target: Target, min_count: int, seed: int
) -> dict[str, Any]:
    """The utility and diversity of one rebalanced copy (model-space frames)."""
    label = target.columns
    features = [name for name in table.modelled() if name not in label and name in synthetic.columns]
    categorical = {
        name for name in features if model_sdtype(table, name, min_count) in (Semantic.CATEGORICAL, Semantic.BOOLEAN)
    }
    real = table.frame
    held = real.index.isin(table.holdout)
    utility = utility_check(
        real[~held], real[held], synthetic, features, categorical, target, seed
    )
    diversity = class_entropies(real, synthetic, sorted(categorical), target)
    return {"utility": utility, "diversity": diversity}


def utility_check(
    real_train: pd.DataFrame,
    real_holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    features: list[str],
    categorical: set[str],
    target: Target,
    seed: int,
) -> dict[str, Any]:
    """Copy against imbalanced real rows, both scored on the held-out real rows."""
    truth = target.matches(real_holdout).astype(int)
    result: dict[str, Any] = {
        "model": quick_model_name(),
        "holdout_rows": int(len(truth)),
        "holdout_target_rows": int(truth.sum()),
    }
    if truth.sum() == 0 or truth.sum() == len(truth) or not features:
        result["measured"] = False
        result["reason"] = (
            "no held-out row of the target classes" if truth.sum() == 0 else
            "no held-out row outside the target classes" if truth.sum() == len(truth) else "no feature column"
        )
        return result
    encoder = _Encoder(features, categorical, [real_train, real_holdout, synthetic])
    holdout = encoder(real_holdout)
    for side, frame in (("real", real_train), ("copy", synthetic)):
        result[side] = _scores(frame, encoder, holdout, truth, target, seed)
    result["measured"] = True
    result["gain_auc_roc"] = round(result["copy"]["auc_roc"] - result["real"]["auc_roc"], 4)
    result["helps"] = result["gain_auc_roc"] > 0
    return result


def _scores(
    frame: pd.DataFrame, encoder: _Encoder, holdout: pd.DataFrame, truth: np.ndarray, target: Target, seed: int
) -> dict[str, Any]:
    from sklearn.metrics import average_precision_score, roc_auc_score

    if len(frame) > QUICK_MAX_ROWS:
        frame = frame.sample(QUICK_MAX_ROWS, random_state=seed)
    labels = target.matches(frame).astype(int)
    trained = {"rows": int(len(labels)), "target_rows": int(labels.sum())}
    if labels.min() == labels.max():  # one class only: the model cannot rank anything
        predicted = np.full(len(truth), float(labels[0]) if len(labels) else 0.0)
    else:
        from threadpoolctl import threadpool_limits  # scikit-learn's own dependency

        # One thread: on a busy machine OpenMP threads wait on each other far longer than they work.
        with threadpool_limits(1):
            model = quick_model(seed)
            model.fit(encoder(frame), labels)
            predicted = model.predict_proba(holdout)[:, 1]
    return {
        **trained,
        "auc_roc": round(float(roc_auc_score(truth, predicted)), 4),
        "auc_pr": round(float(average_precision_score(truth, predicted)), 4),
    }


def quick_model_name() -> str:
    return "lightgbm" if importlib.util.find_spec("lightgbm") else "sklearn_hist_gradient_boosting"


def quick_model(seed: int) -> Any:
    """LightGBM with its defaults, or scikit-learn's histogram gradient boosting."""
    if quick_model_name() == "lightgbm":
        from lightgbm import LGBMClassifier

        return LGBMClassifier(n_estimators=QUICK_TREES, random_state=seed, n_jobs=1, verbose=-1)
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(
        max_iter=QUICK_TREES, categorical_features="from_dtype", early_stopping=False, random_state=seed
    )


class _Encoder:
    """Model features in one encoding for every frame: categories (as text, shared levels; the
    missing value is its own level) and numbers (dates as numbers, missing as NaN)."""

    # scikit-learn's gradient boosting takes at most this many levels per categorical feature.
    MAX_LEVELS = 250

    def __init__(self, features: list[str], categorical: set[str], frames: list[pd.DataFrame]):
        self.features = features
        self.categorical = categorical
        self.levels: dict[str, pd.CategoricalDtype] = {}
        for name in features:
            if name in categorical:
                values = set().union(*(set(_as_text(frame[name]).dropna()) for frame in frames))
                if len(values) <= self.MAX_LEVELS:
                    self.levels[name] = pd.CategoricalDtype(sorted(values))

    def __call__(self, frame: pd.DataFrame) -> pd.DataFrame:
        out = {}
        for name in self.features:
            if name in self.levels:
                out[name] = _as_text(frame[name]).astype(self.levels[name])
            elif name in self.categorical:  # over the level limit: a stable number per value
                codes = _as_text(frame[name]).map(lambda text: zlib.crc32(text.encode()) % 1_000_003, na_action="ignore")
                out[name] = pd.to_numeric(codes).astype("float64")
            else:
                out[name] = pd.Series(as_numbers(frame[name]), index=frame.index)
        return pd.DataFrame(out, index=frame.index)


def _as_text(values: pd.Series) -> pd.Series:
    return values.map(str, na_action="ignore").astype(object)


def class_entropies(
    real: pd.DataFrame, synthetic: pd.DataFrame, columns: list[str], target: Target
) -> list[dict[str, Any]]:
    """Per categorical column: Shannon entropy (bits) of its values (missing counted as a value)
    among the rows of the target classes, in the real sample and in the copy."""
    inside_real, inside_copy = real[target.matches(real)], synthetic[target.matches(synthetic)]
    return [
        {"column": name, "real": _entropy(inside_real[name]), "synthetic": _entropy(inside_copy[name])}
        for name in columns
    ]


def _entropy(values: pd.Series) -> float | None:
    if values.empty:
        return None
    shares = _as_text(values).fillna("\0missing").value_counts(normalize=True).to_numpy()
    return round(float(-sum(p * math.log2(p) for p in shares if p > 0)), 4)


def utility_warning(utility: dict[str, Any]) -> str | None:
    """The note for a copy that trains a worse model than the imbalanced real rows (or None)."""
    if not utility.get("measured") or utility.get("helps"):
        return None
    return (
        f"rebalanced copy scores below the imbalanced real rows: a {utility['model']} model trained on it has"
        f" AUC-ROC {utility['copy']['auc_roc']:.3f} on {utility['holdout_rows']} held-out real rows"
        f" ({utility['holdout_target_rows']} of the target), against {utility['real']['auc_roc']:.3f} trained"
        " on the real rows"
    )
