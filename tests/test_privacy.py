"""Small cells (the hardening issue, class 5): the shared machinery every result uses."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from engagement_kit.privacy import merge_small_steps, suppress_small_cells, suppression_note
from engagement_kit.results import Result
from engagement_kit.stats.survival import kaplan_meier


def test_rows_below_the_minimum_keep_labels_lose_values_and_are_marked():
    t = pd.DataFrame({"segment": ["a", "b", "c"], "arm": ["x", "y", "z"], "n_arm": [50, 4, 0],
                      "n_control": [60, 60, 60], "diff": [0.1, 0.9, np.nan]})  # fmt: skip
    out = suppress_small_cells(t, ["n_arm", "n_control"], labels=["segment", "arm"], min_cell_size=10)
    assert out["suppressed"].tolist() == [False, True, False]  # 0 people is no person
    assert out.loc[1, ["segment", "arm"]].tolist() == ["b", "y"]
    assert out.loc[1, ["n_arm", "n_control", "diff"]].isna().all()
    assert out.loc[0, "diff"] == 0.1 and len(out) == 3  # nothing dropped
    with pytest.raises(ValueError, match="min_cell_size must be a whole number"):
        suppress_small_cells(t, ["n_arm"], labels=[], min_cell_size=0)


def test_merged_km_steps_hold_enough_events_and_keep_the_curve_exact():
    rng = np.random.default_rng(5)
    d = pd.DataFrame({"t": rng.exponential(10, 400).round(1), "e": rng.random(400) < 0.7,
                      "g": rng.choice(["a", "b"], 400)})  # fmt: skip
    km = kaplan_meier(d, "t", "e", group_col="g")
    merged = merge_small_steps(km, group_cols=["group"], min_cell_size=10)
    assert (merged["n_events"] >= 10).all() and (merged["n_at_risk"] >= 10).all()
    for g, m in merged.groupby("group"):
        full = km[km["group"] == g].set_index("time")["survival"]
        assert np.allclose(m.set_index("time")["survival"], full.loc[m["time"]])  # exact at published times
        kept = km[(km["group"] == g) & (km["n_at_risk"] >= 10)]
        assert m["n_events"].sum() == kept["n_events"].sum()  # every event of the published range counted once


def test_results_suppress_declared_tables_and_say_so():
    @dataclasses.dataclass(frozen=True)
    class Seg(Result):
        segments: pd.DataFrame
        min_cell_size: int = 10
        COLUMNS = {"segments": ["segment", "n", "mean"]}
        CELLS = {"segments": (("n",), ("segment",))}

        def conclusions(self) -> str:
            return self.small_cell_note() or ""

    r = Seg(pd.DataFrame({"segment": ["a", "b"], "n": [3, 30], "mean": [1.0, 2.0]}))
    assert r.tables()["segments"]["suppressed"].tolist() == [True, False]
    assert "fewer than 10 people" in r.conclusions()
    assert Seg(r.segments, min_cell_size=2).tables()["segments"]["suppressed"].tolist() == [False, False]
    assert "suppressed" in Seg(r.segments.iloc[:0]).tables()["segments"].columns
    assert suppression_note({"x": pd.DataFrame({"suppressed": [False]})}, 10) is None
