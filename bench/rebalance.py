"""Synthetic rebalancing against the usual remedies, through the product's own path.

The published benchmark: census income (UCI Adult), the ``>50K`` minority of the training file
downsampled to 0.1%, 0.5% and 1% of the training rows, 3 seeds each; LightGBM with its defaults
trained on each training set; AUC-ROC and AUC-PR on the untouched holdout file. Rows:

* ``imbalanced``: the downsampled training rows as they are;
* ``random_oversampler`` and ``smote_nc`` (imbalanced-learn), to 50% minority;
* ``default``: the bare request a new user writes (``{table, column: income, target: {">50K":
  0.5}, rows}``, no other setting), with the settings a sync derives from it (``rebalance_settings``);
* each generator named with ``--generators``, with the bench's tuned settings (``--other-rows``,
  ``--weight``, ``--budget``), through ``synthesize_table`` with a rebalance request (``income``
  to 50% ``>50K``): the same protections, generator, conditioning and privacy gate a sync runs.
  The copy is synthetic only (no real row); the table is described and sampled through the
  SQLAlchemy connector, as in a sync;
* ``engine_alone`` (with ``--engine-alone``): mostlyai-engine's own rebalancing on the raw
  training rows, no protections and no gate, to show what the product's path adds.

Per method it prints the mean AUC-ROC and AUC-PR over seeds (and, for the product's copies, the
utility check the copy carries: its AUC-ROC against the imbalanced sample rows', both on the
sample's held-out rows), the generation time (for the
product's path: the whole ``synthesize_table`` call — protections, model, gate, quality score),
and rare-row copies: distinct real minority rows seen fewer than 5 times (the gate's ``k``) that
reappear verbatim among the synthetic rows.

    .venv/bin/python bench/rebalance.py [--fractions 0.001,0.01] [--seeds 0,1,2] [--no-default]
        [--generators tabular_argn,gaussian_copula,ctgan,tvae] [--rows 40000] [--other-rows 4000]
        [--weight 4] [--budget 60] [--argn-epochs 100] [--epochs 100] [--engine-alone]

Needs ``lightgbm`` and ``imbalanced-learn`` (``pip install -e '.[bench]'``), and the census files in ``../shared/datasets/census/`` beside the
repository (see their README); without them it says so and stops.
"""

from __future__ import annotations

import argparse
import logging
import resource
import statistics
import sys
import tempfile
import time
import warnings
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from catalog_synth.core.config import RebalanceConfig, validate_config  # noqa: E402
from catalog_synth.core.types import (  # noqa: E402
    GateFailed,
    RebalanceSpec,
    SynthesisError,
    SynthesisSettings,
)
from catalog_synth.model.argn import TRAINING_SHARE  # noqa: E402
from catalog_synth.run.plan import rebalance_settings  # noqa: E402
from catalog_synth.run.synthesize import synthesize_table  # noqa: E402
from connectors.sqlalchemy import open_sqlalchemy  # noqa: E402

CENSUS = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "census"
TARGET, MINORITY, MAJORITY = "income", ">50K", "<=50K"
GENERATORS = ["tabular_argn"]
DEFAULT = "default"  # the bare request
RARE_ROW = 5  # the gate's default k (privacy.min_category_count)


class Clock:
    """Wall seconds and CPU seconds (this process, its threads and its children) since it started."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), self._cpu()

    @staticmethod
    def _cpu() -> float:
        usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
        return sum(u.ru_utime + u.ru_stime for u in usage)

    def read(self) -> tuple[float, float]:
        return time.perf_counter() - self.wall, self._cpu() - self.cpu


@dataclass
class Score:
    roc: float
    pr: float
    seconds: float | None = None
    cpu: float | None = None
    copies: int | None = None  # distinct real minority rows reappearing verbatim
    note: str = ""


def load_census() -> tuple[pd.DataFrame, pd.DataFrame]:
    training, holdout = CENSUS / "census-training.csv", CENSUS / "census-holdout.csv"
    if not training.exists() or not holdout.exists():
        raise SystemExit(f"census data not found in {CENSUS} (see the issue: ../shared/datasets/census/)")
    return pd.read_csv(training), pd.read_csv(holdout)


def downsampled(training: pd.DataFrame, fraction: float, seed: int) -> pd.DataFrame:
    """Every majority row and ``fraction`` of the rows from the minority (at least one)."""
    majority = training[training[TARGET] == MAJORITY]
    count = max(1, round(fraction * len(majority) / (1 - fraction)))
    minority = training[training[TARGET] == MINORITY].sample(count, random_state=seed)
    return pd.concat([majority, minority]).sample(frac=1.0, random_state=seed).reset_index(drop=True)


class Evaluator:
    """LightGBM with its defaults on a training set; AUCs on the holdout file."""

    def __init__(self, training: pd.DataFrame, holdout: pd.DataFrame):
        self.categories = {
            column: pd.CategoricalDtype(sorted(set(training[column].dropna()) | set(holdout[column].dropna())))
            for column in training.columns
            if training[column].dtype == object and column != TARGET
        }
        self.holdout = self.features(holdout)
        self.truth = (holdout[TARGET] == MINORITY).astype(int)

    def features(self, frame: pd.DataFrame) -> pd.DataFrame:
        features = frame.drop(columns=TARGET).copy()
        for column, dtype in self.categories.items():
            features[column] = features[column].astype(object).where(features[column].notna()).astype(dtype)
        for column in features.columns.difference(list(self.categories)):
            features[column] = pd.to_numeric(features[column], errors="coerce").astype("float64")
        return features

    def score(self, frame: pd.DataFrame, seed: int) -> tuple[float, float]:
        from lightgbm import LGBMClassifier
        from sklearn.metrics import average_precision_score, roc_auc_score

        model = LGBMClassifier(random_state=seed, verbose=-1)
        model.fit(self.features(frame), (frame[TARGET] == MINORITY).astype(int))
        predicted = model.predict_proba(self.holdout)[:, 1]
        return float(roc_auc_score(self.truth, predicted)), float(average_precision_score(self.truth, predicted))


def random_oversampler(train: pd.DataFrame, seed: int) -> pd.DataFrame:
    from imblearn.over_sampling import RandomOverSampler

    features, labels = RandomOverSampler(random_state=seed).fit_resample(train.drop(columns=TARGET), train[TARGET])
    return features.assign(**{TARGET: labels})


def smote_nc(train: pd.DataFrame, seed: int) -> pd.DataFrame:
    """SMOTE-NC needs complete rows: a missing number is -1 while it interpolates, missing after."""
    from imblearn.over_sampling import SMOTENC

    features = train.drop(columns=TARGET)
    numeric = [column for column in features.columns if features[column].dtype != object]
    filled = features.fillna({column: -1.0 for column in numeric})
    categorical = [index for index, column in enumerate(features.columns) if column not in numeric]
    neighbours = min(5, int((train[TARGET] == MINORITY).sum()) - 1)
    sampler = SMOTENC(categorical_features=categorical, k_neighbors=max(1, neighbours), random_state=seed)
    resampled, labels = sampler.fit_resample(filled, train[TARGET])
    for column in numeric:
        resampled[column] = resampled[column].where(resampled[column] >= 0)
    return resampled.assign(**{TARGET: labels})


def product_copy(train: pd.DataFrame, generator: str, seed: int, args: argparse.Namespace, workdir: Path):
    """The rebalanced copy a sync would store: the table read through the connector, then
    ``synthesize_table`` with the rebalance request (protections, generator, gate)."""
    url = f"sqlite:///{workdir / f'census_{seed}'}.sqlite"
    engine = sa.create_engine(url)
    train.to_sql("census", engine, index=False, if_exists="replace")
    engine.dispose()
    connector = open_sqlalchemy("bench", url)
    info = connector.describe(connector.list_tables(["main.census"], [])[0])
    sample = connector.sample(info, len(train), seed=seed)
    connector.close()
    if generator == DEFAULT:  # what a sync makes of the bare request
        config = validate_config({"warehouses": [{"name": "bench", "url": url}], "seed": seed})
        request = RebalanceConfig(table="main.census", column=TARGET, target={MINORITY: 0.5}, rows=args.rows)
        settings = rebalance_settings(config, info.ref, request)
    else:
        settings = SynthesisSettings(
            copy_rows=args.rows, preview_rows=10, seed=seed, synthesizer=generator,
            generator_settings=_generator_settings(generator, args),
            rebalance=RebalanceSpec((TARGET,), (((MINORITY,), 0.5),), rows=args.rows, other_rows=args.other_rows,
                                    target_weight=args.weight),
        )
    clock = Clock()
    table = synthesize_table(info, sample, settings)
    return table, clock.read()


def _generator_settings(generator: str, args: argparse.Namespace) -> dict:
    if generator == "tabular_argn":
        return {"time_budget_seconds": args.budget, "max_epochs": args.argn_epochs,
                **({"model": args.model} if args.model else {})}
    if generator in ("ctgan", "tvae"):
        return {"epochs": args.epochs}
    return {}


def engine_alone(train: pd.DataFrame, seed: int, args: argparse.Namespace) -> tuple[pd.DataFrame, tuple[float, float]]:
    """mostlyai-engine by itself: its own value protection and rebalancing, nothing else."""
    from mostlyai.engine import TabularARGN
    from mostlyai.engine.domain import RebalancingConfig

    clock = Clock()
    with tempfile.TemporaryDirectory() as workspace:
        model = TabularARGN(max_training_time=args.budget * TRAINING_SHARE / 60, device="cpu", random_state=seed,
                            workspace_dir=workspace, value_protection=True, verbose=0)
        model.fit(train)
        copy = model.sample(n_samples=args.rows, rebalancing=RebalancingConfig(column=TARGET, probabilities={MINORITY: 0.5}))
    return copy, clock.read()


def copied_minority_rows(real: pd.DataFrame, synthetic: pd.DataFrame) -> int:
    """Distinct rare real minority rows (fewer than RARE_ROW of them in the training rows) that
    reappear verbatim (every column, text compared) in the copy."""
    def keys(frame: pd.DataFrame) -> pd.Series:
        rows = frame[frame[TARGET] == MINORITY][list(real.columns)]
        numbers = rows.select_dtypes("number").columns
        rows = rows.astype({column: "float64" for column in numbers})
        return rows.astype(str).agg("|".join, axis=1)

    counts = keys(real).value_counts()
    rare = set(counts.index[counts < RARE_ROW])
    return len(rare & set(keys(synthetic)))


def run(args: argparse.Namespace) -> dict[tuple[float, str], list[Score]]:
    training, holdout = load_census()
    evaluator = Evaluator(training, holdout)
    scores: dict[tuple[float, str], list[Score]] = defaultdict(list)
    with tempfile.TemporaryDirectory() as workdir:
        for fraction in args.fractions:
            for seed in args.seeds:
                train = downsampled(training, fraction, seed)
                minority = int((train[TARGET] == MINORITY).sum())
                print(f"-- {fraction:.1%} minority ({minority} of {len(train)} rows), seed {seed}", flush=True)
                for name, make in (("imbalanced", lambda t, s: t), ("random_oversampler", random_oversampler),
                                   ("smote_nc", smote_nc)):
                    clock = Clock()
                    rebalanced = make(train, seed)
                    record(scores, fraction, name, evaluator, rebalanced, seed, clock.read(), None)
                for generator in [DEFAULT] * args.default + args.generators:
                    try:
                        table, seconds = product_copy(train, generator, seed, args, Path(workdir))
                    except (GateFailed, SynthesisError) as exc:
                        print(f"   {generator:20} not published: {exc}", flush=True)
                        continue
                    note = _generator_note(table)
                    record(scores, fraction, generator, evaluator, table.data, seed, seconds,
                           copied_minority_rows(train, table.data), note)
                if args.engine_alone:
                    copy, seconds = engine_alone(train, seed, args)
                    record(scores, fraction, "engine_alone", evaluator, copy, seed, seconds,
                           copied_minority_rows(train, copy), "no gate")
    return scores


def _generator_note(table) -> str:
    report = table.generator
    classes = table.rebalance["classes"][0]
    gate = "gate passed" if table.gate.passed else "gate FAILED"
    epochs = f", {report.epochs:g} epochs" if report.epochs is not None else ""
    utility = table.rebalance.get("utility") or {}
    check = (f", own check {utility['copy']['auc_roc']:.3f} vs real {utility['real']['auc_roc']:.3f}"
             f" ({utility['holdout_target_rows']} held-out minority)" if utility.get("measured") else "")
    return (f"{report.generator}: fit {report.fit_seconds:.0f} s{epochs}, sample {report.sample_seconds:.0f} s,"
            f" {classes['synthetic_share']:.2%} minority, {gate}"
            f" (attempt {table.gate.attempts}){check}")


def record(scores, fraction, name, evaluator, frame, seed, times: tuple[float, float], copies, note: str = "") -> None:
    roc, pr = evaluator.score(frame, seed)
    scores[(fraction, name)].append(Score(roc, pr, *times, copies, note))
    copied = "" if copies is None else f"  rare-row copies {copies}"
    print(f"   {name:20} AUC-ROC {roc:.3f}  AUC-PR {pr:.3f}  {times[0]:6.1f} s (CPU {times[1]:6.1f} s){copied}  {note}",
          flush=True)


def summary(scores: dict[tuple[float, str], list[Score]]) -> None:
    print(f"\n{'minority':>8}  {'method':20} {'AUC-ROC':>8} {'AUC-PR':>7} {'wall s':>7} {'CPU s':>7} {'copies':>6}  seeds")
    for (fraction, name), runs in scores.items():
        roc, pr = statistics.mean(r.roc for r in runs), statistics.mean(r.pr for r in runs)
        seconds, cpu = statistics.mean(r.seconds for r in runs), statistics.mean(r.cpu for r in runs)
        copies = "-" if runs[0].copies is None else f"{statistics.mean(r.copies for r in runs):.1f}"
        print(f"{fraction:>8.1%}  {name:20} {roc:>8.3f} {pr:>7.3f} {seconds:>7.1f} {cpu:>7.1f} {copies:>6}  {len(runs)}")


def _import_models(generators: list[str]) -> None:
    """Import the model libraries up front, as a sync's warm workers have: no table pays for it."""
    import mostlyai.engine  # noqa: F401
    import sdmetrics.reports  # noqa: F401
    import sdv.single_table  # noqa: F401


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fractions", default="0.001,0.01")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--generators", default=",".join(GENERATORS),
                        help="generators run with the tuned settings below (gaussian_copula, ctgan, tvae, tabular_argn)")
    parser.add_argument("--no-default", dest="default", action="store_false",
                        help="leave out the bare request (no settings), run by default")
    parser.add_argument("--rows", type=int, default=40_000, help="rows in each rebalanced copy")
    parser.add_argument("--other-rows", type=int, default=4000,
                        help="majority rows the generator learns from, 0 for all (every minority row is kept)")
    parser.add_argument("--weight", type=int, default=4, help="times each minority row is shown to the generator")
    parser.add_argument("--budget", type=float, default=60.0, help="tabular_argn time budget (fit and sample)")
    parser.add_argument("--argn-epochs", type=float, default=100.0,
                        help="tabular_argn max_epochs (a fixed amount of work, whatever else runs on the machine)")
    parser.add_argument("--model", default="", help="tabular_argn model (MOSTLY_AI/Small, Medium, Large)")
    parser.add_argument("--epochs", type=int, default=100, help="ctgan and tvae epochs")
    parser.add_argument("--engine-alone", action="store_true", help="also run mostlyai-engine by itself")
    args = parser.parse_args()
    args.fractions = [float(value) for value in args.fractions.split(",") if value]
    args.seeds = [int(value) for value in args.seeds.split(",") if value]
    args.generators = [name for name in args.generators.split(",") if name]
    args.other_rows = args.other_rows or None
    warnings.simplefilter("ignore")
    logging.basicConfig(level=logging.WARNING, format="   %(message)s")
    logging.getLogger("catalog_synth.run.synthesize").setLevel(logging.INFO)  # a gate attempt that failed
    np.seterr(all="ignore")
    _import_models(args.generators)
    summary(run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
