"""Tiny notebooks and projects for the report-pipeline tests (each kernel start costs ~2 s)."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path("/work/shared/data")
MINI_ROWS = 3000


def write_notebook(path: Path, params: str, *cells: str) -> Path:
    """A notebook with a ``parameters`` cell (``params``) followed by ``cells``; no outputs."""
    p = nbformat.v4.new_code_cell(params)
    p.metadata["tags"] = ["parameters"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# test"), p])
    nb.cells += [nbformat.v4.new_code_cell(c) for c in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


OK_PARAMS = 'n = 3  # rows\nlabel = "a"  # a label\noutput_dir = "."  # results'
OK_CELL = (
    "import csv, pathlib\n"
    "with open(pathlib.Path(output_dir) / 'summary.csv', 'w', newline='') as f:\n"
    "    w = csv.writer(f); w.writerow(['label', 'n']); w.writerow([label, n])\n"
    "print('rows', n)"
)


def make_project(root: Path, runs: list[dict]) -> Path:
    """A project folder with ``notebooks/ok.ipynb``, ``fail.ipynb``, ``sleep.ipynb``,
    a data file and a ``reports.yaml`` declaring ``runs``; returns the config path."""
    write_notebook(root / "notebooks" / "ok.ipynb", OK_PARAMS, OK_CELL)
    write_notebook(
        root / "notebooks" / "fail.ipynb",
        'output_dir = "."  # results',
        "x = 1",
        "raise ValueError('deliberate failure for the test')",
        "y = 2",
    )
    write_notebook(
        root / "notebooks" / "sleep.ipynb",
        'seconds = 0.0  # how long\npid_file = ""  # where to write the kernel pid\noutput_dir = "."  # results',
        "import os, time, pathlib\n"
        "pathlib.Path(output_dir, 'done.csv').write_text('x\\n1\\n')\n"
        "if pid_file: pathlib.Path(pid_file).write_text(str(os.getpid()))\n"
        "time.sleep(seconds)",
    )
    write_notebook(
        root / "notebooks" / "data.ipynb",
        'table_path = "data/t.csv"  # a table\noutput_dir = "."  # results',
        "import pathlib\nrows = len(open(table_path).readlines()) - 1\n"
        "pathlib.Path(output_dir, 'rows.csv').write_text('rows\\n' + str(rows))",
    )
    (root / "data").mkdir(exist_ok=True)
    (root / "data" / "t.csv").write_text("customer_id,x\nC1,1\nC2,2\n")
    config = root / "reports.yaml"
    config.write_text(yaml.safe_dump({"runs": runs}, sort_keys=False))
    return config


def _demo_tables(n: int = 1500) -> dict[str, pd.DataFrame]:
    try:
        from engagement_kit.simulate import simulate
    except ImportError:  # before the simulator lands: a customers table following the contract
        rng = np.random.default_rng(7)
        return {
            "customers": pd.DataFrame(
                {
                    "customer_id": [f"C{i:07d}" for i in range(1, n + 1)],
                    "segment": rng.choice(["smb", "mid_market", "enterprise"], n, p=[0.6, 0.3, 0.1]),
                    "touch_model": rng.choice(["high_touch", "low_touch", "no_touch"], n),
                    "signup_date": "2025-01-01",
                }
            )
        }
    sim = simulate(n_customers=n, seed=11)
    return {t: getattr(sim, t) for t in ("customers", "survey", "events", "outcomes", "dsce")}


def _miniature(rel: str, dest: Path, demo: dict[str, pd.DataFrame]) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    if rel.startswith("data/demo/") and dest.name in ("survey_qualtrics.csv", "survey.sav", "survey_codebook.yaml"):
        from types import SimpleNamespace

        from engagement_kit.survey_files import write_demo_exports

        tables = SimpleNamespace(survey=demo["survey"], customers=demo["customers"], outcomes=demo["outcomes"])
        write_demo_exports(tables, dest.parent, seed=11)  # the survey exports, as `make demo` writes them
        return
    if rel.startswith("data/demo/") and Path(rel).stem in demo:
        demo[Path(rel).stem].to_csv(dest, index=False)
        return
    source = REPO / rel
    if not source.is_file() and rel.startswith("data/real/"):
        source = SHARED_DATA / rel.removeprefix("data/real/")
    if not source.is_file():
        pytest.skip(f"no source for {rel} (create the demo data: make demo)")
    pd.read_csv(source, nrows=MINI_ROWS, dtype=str, keep_default_na=False).to_csv(dest, index=False)


def run_default_batch(root: Path) -> tuple[Path, Path, int]:
    """The default batch (``reports.yaml``) run in ``root`` on miniature copies of its data
    (two kernels); returns ``(root, batch folder, exit code)``. One run per test module."""
    from engagement_kit.reports import __main__ as cli
    from engagement_kit.reports.config import data_parameters, load_config
    from engagement_kit.reports.params import EXPRESSION, parameters_of

    shutil.copy(REPO / "reports.yaml", root / "reports.yaml")
    (root / "notebooks").symlink_to(REPO / "notebooks", target_is_directory=True)
    demo = _demo_tables()
    for run in load_config(root / "reports.yaml"):
        defaults = {p.name: p.default for p in parameters_of(run.notebook_path) if p.default is not EXPRESSION}
        effective = {**defaults, **run.parameters}
        for name, path in data_parameters(effective, root).items():
            if not path.exists():
                _miniature(effective[name], path, demo)
    out = root / "reports"
    code = cli.main(["--config", str(root / "reports.yaml"), "--output-root", str(out), "--run-id", "t", "--jobs", "2"])
    return root, out / "t", code
