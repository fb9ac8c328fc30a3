"""Tiny notebooks and projects for the report-pipeline tests (each kernel start costs ~2 s)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import yaml


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
