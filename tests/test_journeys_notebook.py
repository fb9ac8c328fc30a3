"""The customer-journeys notebook runs end to end (papermill) on the demo, the Telco churn table and
foreign-shaped event logs built here, and writes its CSV interface."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engagement_kit.journeys import TABLE_COLUMNS

ROOT = Path(__file__).resolve().parents[1]
NB = ROOT / "notebooks" / "customer_journeys.ipynb"


def _run(params: dict, tmp_path: Path) -> Path:
    papermill = pytest.importorskip("papermill")
    os.environ["PYTHONPATH"] = str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")
    papermill.execute_notebook(str(NB), str(tmp_path / "out.ipynb"), parameters=params, kernel_name="python3",
                               cwd=str(ROOT / "notebooks"), progress_bar=False)  # fmt: skip
    return Path(params["output_dir"])


def _stdout(nb: Path) -> str:
    """Everything the executed notebook printed (stream outputs)."""
    import nbformat

    cells = nbformat.read(str(nb), as_version=4).cells
    return "".join(o.get("text", "") for c in cells for o in c.get("outputs", []) if o.get("output_type") == "stream")


def _foreign_events(n: int = 300, seed: int = 1) -> pd.DataFrame:
    """An AARRR event log of another shape: ids u001.., no customers or outcomes tables; each customer
    moves on to the next stage with probability 0.6, a day later."""
    rng = np.random.default_rng(seed)
    stages = ["acquisition", "activation", "retention", "referral", "revenue"]
    rows = []
    for i in range(1, n + 1):
        start = pd.Timestamp("2025-03-01") + pd.Timedelta(days=int(rng.integers(0, 60)))
        k = 1 + int(np.sum(np.cumprod(rng.random(len(stages) - 1) < 0.6)))
        rows += [{"customer_id": f"u{i:03d}", "timestamp": start + pd.Timedelta(days=j), "framework": "aarrr",
                  "stage": stages[j]} for j in range(k)]  # fmt: skip
    return pd.DataFrame(rows)


def test_notebook_on_a_foreign_event_log_alone_skips_what_needs_other_tables(tmp_path):
    """Only events_path and framework describe the data. customers_path and outcomes_path are passed
    as "" because their demo defaults (data/demo/...) exist in this checkout and would be read."""
    _foreign_events().to_csv(tmp_path / "log.csv", index=False)
    out = _run({"events_path": str(tmp_path / "log.csv"), "framework": "aarrr", "customers_path": "",
                "outcomes_path": "", "output_dir": str(tmp_path / "out")}, tmp_path)  # fmt: skip
    for name, cols in TABLE_COLUMNS.items():
        df = pd.read_csv(out / f"{name}.csv")
        assert list(df.columns[: len(cols)]) == cols, name
    f = pd.read_csv(out / "funnel.csv")
    assert list(f["stage"]) == ["acquisition", "activation", "retention", "referral", "revenue"]
    assert set(f["arm"]) == {"all"} and f["n_reached"].iloc[0] == 300  # one arm: no arm column was given
    for name in ("cohorts", "survival", "funnel_tests"):
        assert pd.read_csv(out / f"{name}.csv").empty, name
    printed = _stdout(tmp_path / "out.ipynb")
    for part in ("Cohorts skipped", "Outcome KPIs", "Churn (survival) skipped", "By-arm results and tests skipped"):
        assert part in printed, part


def test_notebook_on_a_foreign_customers_table_with_other_arm_labels(tmp_path):
    ev = _foreign_events(seed=2)
    ev.to_csv(tmp_path / "log.csv", index=False)
    ids = sorted(ev["customer_id"].unique())
    pd.DataFrame({"customer_id": ids, "variant": ["ctl", "v1"] * (len(ids) // 2)}).to_csv(tmp_path / "who.csv",
                                                                                       index=False)  # fmt: skip
    out = _run({"events_path": str(tmp_path / "log.csv"), "framework": "aarrr", "customers_path": str(tmp_path / "who.csv"),
                "outcomes_path": "", "arm_col": "variant", "control": "ctl", "segment_col": "",
                "output_dir": str(tmp_path / "out")}, tmp_path)  # fmt: skip
    f = pd.read_csv(out / "funnel.csv")
    assert set(f["arm"]) == {"ctl", "v1"} and list(f.columns[: len(TABLE_COLUMNS["funnel"])]) == TABLE_COLUMNS["funnel"]
    t = pd.read_csv(out / "funnel_tests.csv")
    assert set(t["arm"]) == {"v1"} and set(t["control"]) == {"ctl"} and t["p_adjusted"].notna().any()
    assert "Cohorts skipped" in _stdout(tmp_path / "out.ipynb")


def _telco() -> Path:
    for p in (ROOT / "data/real/telco_churn/telco_churn.csv", Path("/work/shared/data/telco_churn/telco_churn.csv")):
        if p.exists():
            return p
    pytest.skip("telco churn table not available")


def test_notebook_on_simulated_data_writes_every_table(tmp_path):
    from engagement_kit.simulate import simulate

    data = tmp_path / "data"
    simulate(n_customers=1500, seed=5).write(data)
    out = _run({"events_path": str(data / "events.csv"), "customers_path": str(data / "customers.csv"),
                "outcomes_path": str(data / "outcomes.csv"), "framework": "mckinsey_cdj",
                "output_dir": str(tmp_path / "out")}, tmp_path)  # fmt: skip
    for name in ("funnel", "transitions", "cohorts", "kpis", "survival", "quality"):
        df = pd.read_csv(out / f"{name}.csv")
        assert list(df.columns[: len(TABLE_COLUMNS[name])]) == TABLE_COLUMNS[name], name
        assert "customer_id" not in df.columns
        if name != "quality":
            assert len(df) > 0, name
    f = pd.read_csv(out / "funnel.csv")
    assert set(f["framework"]) == {"mckinsey_cdj"} and set(f["arm"]) == {"high_touch", "low_touch", "no_touch"}


def test_notebook_on_real_churn_table_runs_survival_only(tmp_path):
    out = _run({"events_path": "", "customers_path": "", "outcomes_path": "", "churn_path": str(_telco()),
                "output_dir": str(tmp_path / "out")}, tmp_path)  # fmt: skip
    f = pd.read_csv(out / "funnel.csv")
    assert list(f.columns) == [*TABLE_COLUMNS["funnel"], "suppressed"] and f.empty  # header only: no events
    s = pd.read_csv(out / "survival.csv")
    assert set(s["group"].dropna()) >= {"Month-to-month", "One year", "Two year"}
    assert {"km", "logrank", "cox_hr", "median_lifetime"} <= set(s["kind"])
    assert s.loc[s["kind"] == "km", "n_events"].min() >= 10  # Kaplan-Meier published on merged steps
    nb = (tmp_path / "out.ipynb").read_text()
    assert "This data has no events" in nb
    assert "Funnel, stage times, transitions and top paths skipped" in _stdout(tmp_path / "out.ipynb")
