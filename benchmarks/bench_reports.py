"""Benchmark of the report pipeline (prints figures; not a test).

1. Per-run overhead over the notebook's own compute: kernel start and shutdown, parameter
   injection, HTML export (from the batch manifest's timings). Target: a median
   ``execute - compute`` (kernel start, messaging, shutdown) of at most 1.0 s per run.
2. Wall time of 8 runs of a notebook that imports pandas, statsmodels and seaborn and draws
   one plot: ``engagement-kit report --jobs 2`` versus 8 sequential ``papermill`` CLI calls.
   Target: at least 2.0x faster.

    python benchmarks/bench_reports.py [--runs 8] [--jobs 2] [--repeats 3]

The two are alternated ``--repeats`` times because the machine may be shared: compare the
median and total ratios, not a single pair.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

PARAMS = 'seed = 1  # random seed\nn = 2000  # rows\noutput_dir = "."  # results'
CELLS = [
    "import numpy as np\nimport pandas as pd\nimport seaborn as sns\nimport statsmodels.api as sm",
    "rng = np.random.default_rng(seed)\n"
    "df = pd.DataFrame({'arm': rng.choice(['high_touch', 'low_touch', 'no_touch'], n), 'y': rng.normal(size=n)})\n"
    "fit = sm.OLS(df['y'], sm.add_constant(pd.get_dummies(df['arm'], drop_first=True, dtype=float))).fit()\n"
    "df.groupby('arm')['y'].agg(['size', 'mean']).to_csv(f'{output_dir}/means.csv')",
    "ax = sns.barplot(data=df, x='arm', y='y')",
]


def make_project(root: Path, runs: int) -> None:
    params = nbformat.v4.new_code_cell(PARAMS)
    params.metadata["tags"] = ["parameters"]
    nb = nbformat.v4.new_notebook(cells=[params, *(nbformat.v4.new_code_cell(c) for c in CELLS)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    (root / "notebooks").mkdir(parents=True)
    nbformat.write(nb, root / "notebooks" / "bench.ipynb")
    (root / "reports.yaml").write_text(
        "runs:\n  - name: bench\n    notebook: notebooks/bench.ipynb\n"
        f"    grid:\n      seed: {list(range(1, runs + 1))}\n"
    )


def report_command() -> list[str]:
    """``engagement-kit report`` (the console script), or its module when the CLI cannot load yet."""
    exe = BIN / "engagement-kit"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    ok = exe.exists() and subprocess.run([str(exe), "report", "--help"], env=env, capture_output=True).returncode == 0
    return [str(exe), "report"] if ok else [sys.executable, "-m", "engagement_kit.reports"]


def cell_seconds(nb_path: Path) -> float:
    nb = nbformat.read(nb_path, as_version=4)
    return sum(float(c.metadata.get("papermill", {}).get("duration") or 0) for c in nb.cells)


def run_papermill(root: Path, runs: int) -> tuple[float, float]:
    out = root / "papermill"
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    for seed in range(1, runs + 1):
        d = out / f"bench_{seed}"
        d.mkdir(parents=True)
        subprocess.run(
            [str(BIN / "papermill"), "notebooks/bench.ipynb", str(d / "notebook.ipynb"), "-p", "seed", str(seed),
             "-p", "output_dir", str(d), "-k", "python3", "--no-progress-bar"],
            cwd=root, check=True, capture_output=True,
        )  # fmt: skip
    wall = time.perf_counter() - t0
    compute = statistics.mean(cell_seconds(out / f"bench_{s}" / "notebook.ipynb") for s in range(1, runs + 1))
    return wall, compute


def run_pipeline(root: Path, jobs: int, cmd: list[str]) -> tuple[float, list[dict]]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    t0 = time.perf_counter()
    subprocess.run(
        [*cmd, "--config", "reports.yaml", "--jobs", str(jobs), "--force", "--run-id", "bench", "--output-root", "out"],
        cwd=root, check=True, capture_output=True, env=env,
    )  # fmt: skip
    wall = time.perf_counter() - t0
    return wall, json.loads((root / "out" / "bench" / "manifest.json").read_text())["runs"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=8)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3, help="alternating repeats (the machine may be shared)")
    args = ap.parse_args()
    cmd = report_command()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_project(root, args.runs)
        pm_walls, pl_walls, records, pm_compute = [], [], [], []
        for _ in range(args.repeats):
            wall, compute = run_papermill(root, args.runs)
            pm_walls.append(wall)
            pm_compute.append(compute)
            wall, recs = run_pipeline(root, args.jobs, cmd)
            pl_walls.append(wall)
            records += recs
    t = {k: statistics.mean(r["timings"][k] for r in records) for k in records[0]["timings"]}
    overheads = [r["timings"]["execute"] - r["timings"]["compute"] for r in records]
    command = " ".join(Path(c).name for c in cmd)
    print(f"report pipeline benchmark: {args.runs} runs, {os.cpu_count()} cores, command: {command}")
    print("\nper-run time inside a worker (mean over runs, seconds)")
    print(f"  notebook's own compute (sum of cell times)   {t['compute']:6.2f}")
    print(f"  kernel start + messaging + shutdown          {t['execute'] - t['compute']:6.2f}")
    print(f"  parameter injection                          {t['inject']:6.2f}")
    print(f"  HTML export                                  {t['html']:6.2f}")
    print(f"  overhead over compute (total - compute)      {t['total'] - t['compute']:6.2f}   (total {t['total']:.2f})")
    # the median leaves out each worker's first run, which waits for its kernel template's imports
    print(f"  per-run overhead (execute - compute): median {statistics.median(overheads):.2f} s, "
          f"max {max(overheads):.2f} s (target <= 1.0 s)")
    pm_over = min(pm_walls) / args.runs - statistics.mean(pm_compute)
    print(f"  papermill CLI call, overhead over compute    {pm_over:6.2f}   (total {min(pm_walls) / args.runs:.2f}, "
          f"compute {statistics.mean(pm_compute):.2f} with cold imports)")
    print("  (the pipeline's kernels fork from a template that imported the libraries once,")
    print("   so its notebook compute excludes the ~2-3 s of imports a fresh kernel pays)")
    print(f"\nwall time of {args.runs} runs (seconds; each of {args.repeats} alternating repeats)")
    print(f"  {args.runs} sequential papermill CLI calls: " + ", ".join(f"{w:.1f}" for w in pm_walls))
    print(f"  engagement-kit report --jobs {args.jobs}:      " + ", ".join(f"{w:.1f}" for w in pl_walls))
    ratios = [a / b for a, b in zip(pm_walls, pl_walls)]
    print("  speed-up per repeat: " + ", ".join(f"{r:.2f}x" for r in ratios))
    print(f"  speed-up: median {statistics.median(ratios):.2f}x, total {sum(pm_walls) / sum(pl_walls):.2f}x, "
          f"best-vs-best {min(pm_walls) / min(pl_walls):.2f}x (target >= 2.0x)")


if __name__ == "__main__":
    main()
