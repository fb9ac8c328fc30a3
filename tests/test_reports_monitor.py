"""Monitored experiments in the report store: each scheduled run appends its look once,
and the next run receives the earlier looks' times."""

from __future__ import annotations

import json

from reports_helpers import write_notebook

from engagement_kit.reports import __main__ as cli
from engagement_kit.reports.monitor import history_path

# A stand-in for the experiment notebook: writes sequential.csv whose last look's time is the
# data's last row, and records the looks it was given.
LOOKS_NOTEBOOK = (
    'table_path = "data/t.csv"  # the data\nmonitor_looks = []  # earlier looks (set by the batch)\n'
    'output_dir = "."  # results',
    "import json, pathlib\n"
    "last = pathlib.Path(table_path).read_text().strip().splitlines()[-1].split(',')[0]\n"
    "pathlib.Path(output_dir, 'given.json').write_text(json.dumps(monitor_looks))\n"
    "rows = ['look,time,metric,arm,control,n_arm,n_control,estimate,se,cs_low,cs_high,p_value,decision',\n"
    "        f'1,2026-01-01,y,b,a,5,5,0.1,0.2,-0.5,0.7,1.0,continue',\n"
    "        f'{len(monitor_looks) + 2},{last},y,b,a,10,10,0.3,0.1,-0.1,0.7,0.4,continue']\n"
    "pathlib.Path(output_dir, 'sequential.csv').write_text('\\n'.join(rows) + '\\n')",
)


def test_each_scheduled_look_is_appended_once_and_passed_to_the_next(tmp_path):
    write_notebook(tmp_path / "notebooks" / "mon.ipynb", *LOOKS_NOTEBOOK)
    data = tmp_path / "data" / "t.csv"
    data.parent.mkdir()
    cfg = tmp_path / "reports.yaml"
    cfg.write_text("runs:\n  - name: exp\n    notebook: notebooks/mon.ipynb\n    monitor: q3\n")
    out = tmp_path / "reports"

    def batch(run_id: str, rows: str) -> int:
        data.write_text("time,y\n" + rows)
        return cli.main(["--config", str(cfg), "--output-root", str(out), "--run-id", run_id, "--jobs", "1"])

    assert batch("w1", "2026-01-08,1\n") == 0
    assert batch("w1", "2026-01-08,1\n") == 0  # a rerun of the same batch adds no look
    assert batch("w2", "2026-01-08,1\n2026-01-15,2\n") == 0
    assert batch("w3", "2026-01-08,1\n2026-01-15,2\n") == 0  # no new customer: no new look
    history = json.loads(history_path(out, "q3").read_text())
    assert [(x["batch"], x["time"]) for x in history["looks"]] == [("w1", "2026-01-08"), ("w2", "2026-01-15")]
    assert history["looks"][1]["rows"][0] == {
        "metric": "y", "arm": "b", "control": "a", "n_arm": 10, "n_control": 10, "estimate": 0.3, "se": 0.1,
        "cs_low": -0.1, "cs_high": 0.7, "p_value": 0.4, "decision": "continue",
    }  # fmt: skip
    assert json.loads((out / "w2" / "exp" / "given.json").read_text()) == ["2026-01-08"]
    manifest = json.loads((out / "w2" / "manifest.json").read_text())
    assert manifest["runs"][0]["monitor"] == "q3"


def test_monitor_needs_a_notebook_that_takes_the_looks(tmp_path, capsys):
    write_notebook(tmp_path / "notebooks" / "plain.ipynb", 'output_dir = "."  # results')
    cfg = tmp_path / "reports.yaml"
    cfg.write_text("runs:\n  - name: exp\n    notebook: notebooks/plain.ipynb\n    monitor: q3\n")
    assert cli.main(["--config", str(cfg), "--output-root", str(tmp_path / "out")]) == 2
    assert "needs a notebook with a 'monitor_looks' parameter" in capsys.readouterr().err
    cfg.write_text("runs:\n  - name: exp\n    notebook: notebooks/plain.ipynb\n    monitor: ../q3\n")
    assert cli.main(["--config", str(cfg), "--output-root", str(tmp_path / "out")]) == 2
    assert "monitor '../q3'" in capsys.readouterr().err
