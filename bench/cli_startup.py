"""CLI start-up: wall time and peak RSS of light commands, against a bare interpreter.

Runs each command ``--runs`` times in a fresh process (the venv's ``catalog-synth``
script), and in the same run the baselines: ``python -c pass`` (what any Python CLI
pays) and an import of the synthesis stack (SDV, SDMetrics, torch: what a worker pays,
and what every command paid when the CLI imported it eagerly). Prints medians, the
largest peak RSS and the goal: ``catalog-synth --help`` under 0.5 s.

    .venv/bin/python bench/cli_startup.py [--runs 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

GOAL_HELP_SECONDS = 0.5
CLI = str(Path(sys.executable).with_name("catalog-synth"))
SYNTHESIS_IMPORTS = "import catalog_synth.run.synthesize, sdv.single_table"  # SDV imports SDMetrics and torch


@dataclass
class Runs:
    seconds: list[float]
    peak_rss_mb: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def run_once(argv: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one run of ``argv``, output discarded."""
    started = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"{' '.join(argv)} failed with exit code {process.returncode}")
    return seconds, usage.ru_maxrss / 1024  # Linux: kilobytes


def measure(argv: list[str], runs: int) -> Runs:
    run_once(argv)  # warm the page cache
    samples = [run_once(argv) for _ in range(runs)]
    return Runs([s for s, _ in samples], [rss for _, rss in samples])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        commands = {
            "python -c pass (baseline)": [sys.executable, "-c", "pass"],
            "catalog-synth --help": [CLI, "--help"],
            "catalog-synth --version": [CLI, "--version"],
            "catalog-synth serve --help": [CLI, "serve", "--help"],
            "catalog-synth init": [CLI, "init", "--force", "--path", str(Path(folder) / "catalog-synth.yml")],
            "import the synthesis stack": [sys.executable, "-c", SYNTHESIS_IMPORTS],
        }
        results = {name: measure(argv, args.runs) for name, argv in commands.items()}
    baseline = results["python -c pass (baseline)"].median
    print(f"CLI start-up, {args.runs} runs each (median wall time, largest peak RSS)")
    print(f"{'command':<30}{'median s':>10}{'x python':>10}{'peak RSS MB':>13}")
    for name, runs in results.items():
        print(f"{name:<30}{runs.median:>10.3f}{runs.median / baseline:>9.1f}x{max(runs.peak_rss_mb):>13.0f}")
    help_seconds = results["catalog-synth --help"].median
    verdict = "met" if help_seconds < GOAL_HELP_SECONDS else "NOT met"
    print(f"\ngoal: catalog-synth --help under {GOAL_HELP_SECONDS} s: {help_seconds:.3f} s ({verdict})")


if __name__ == "__main__":
    main()
