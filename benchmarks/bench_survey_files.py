"""Reading survey exports: the demo survey (20,000 respondents by default) as a Qualtrics
choice-text CSV (text answers mapped by the agree_7 scale) and as an SPSS file.

Prints seconds and peak memory (tracemalloc, Python allocations) of
:func:`engagement_kit.survey_files.read_survey` beside a peer and a floor:

* Qualtrics: peer ``pandas.read_csv(skiprows=[1, 2])`` followed by a dict ``map`` of the
  labels (what a careful user would write by hand), floor ``pandas.read_csv`` alone;
* SPSS: floor ``pyreadstat.read_sav`` alone (the reader adds metadata handling on top).

    python benchmarks/bench_survey_files.py [--respondents N] [--seed S]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pyreadstat

from engagement_kit.codebook import LIKERT_SCALES
from engagement_kit.simulate import simulate
from engagement_kit.survey_files import read_survey, write_demo_exports


def measure(label: str, fn: Callable[[], object], repeat: int = 3) -> None:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"  {label:<44} {best:7.3f} s   peak {peak / 2**20:7.1f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--respondents", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=20261123)
    args = parser.parse_args()
    sim = simulate(n_customers=args.respondents, seed=args.seed, frameworks=[], include_types=False)
    folder = Path(tempfile.mkdtemp())
    write_demo_exports(sim, folder, seed=args.seed)
    csv, sav = folder / "survey_qualtrics.csv", folder / "survey.sav"
    codes = {label: float(k) for k, label in enumerate(LIKERT_SCALES["agree_7"], start=1)}

    def by_hand() -> pd.DataFrame:
        df = pd.read_csv(csv, skiprows=[1, 2])
        items = [c for c in df.columns if c.split("_")[0] in ("enthusiasm", "attention", "absorption", "interaction",
                                                               "identification")]
        df[items] = df[items].apply(lambda s: s.map(codes))
        return df

    print(f"{args.respondents:,} respondents, {csv.stat().st_size / 2**20:.1f} MiB CSV, {sav.stat().st_size / 2**20:.1f} MiB .sav")
    print("Qualtrics choice-text CSV")
    measure("read_survey", lambda: read_survey(csv))
    measure("peer: read_csv + label map by hand", by_hand)
    measure("floor: read_csv", lambda: pd.read_csv(csv, skiprows=[1, 2]))
    print("SPSS .sav")
    measure("read_survey", lambda: read_survey(sav))
    measure("floor: pyreadstat.read_sav", lambda: pyreadstat.read_sav(str(sav)))


if __name__ == "__main__":
    main()
