"""Paths through a framework: transition matrix, top paths, loops back.

Transitions are between consecutive distinct events of a customer (ordered by
time, then stage order), plus ``(entry) -> first stage`` and ``last stage ->
(exit)``. Each transition has a ``kind``:

* ``forward`` -- to the next stage; ``skip`` -- forward past one or more stages;
* ``repeat`` -- the same stage again; ``back`` -- to an earlier stage (the
  loyalty loop of the decision journey, ``post_purchase -> closure``, or a
  re-entry); ``entry`` / ``exit``.

``probability`` = n / (transitions out of ``from_stage`` in the arm), the
empirical P(next = to | current = from), with a Wilson interval.

Example
-------
>>> import pandas as pd
>>> ev = pd.DataFrame({"customer_id": ["a"] * 3, "framework": "laer",
...                    "stage": ["land", "adopt", "land"],
...                    "timestamp": pd.to_datetime(["2025-01-01", "2025-01-02", "2025-01-03"])})
>>> t = transitions(ev, framework="laer")
>>> t.loc[t["kind"] == "back", ["from_stage", "to_stage", "n"]].to_numpy().tolist()
[['adopt', 'land', 1]]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..frameworks import get_framework
from ..stats.proportions import wilson_ci
from .engine import Engine, Source
from .quality import as_engine

__all__ = ["transitions", "transition_matrix", "top_paths", "loops"]


def _kind(from_order: pd.Series, to_order: pd.Series, n_stages: int) -> np.ndarray:
    return np.select(
        [
            from_order == 0,
            to_order == n_stages + 1,
            to_order == from_order + 1,
            to_order > from_order + 1,
            to_order == from_order,
        ],
        ["entry", "exit", "forward", "skip", "repeat"],
        default="back",
    )


def transitions(
    data: Engine | Source,
    *,
    framework: str,
    customers: Source | None = None,
    arm_col: str | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Transition counts and probabilities per arm (tidy; the content of transitions.csv).

    Columns: framework, arm, from_stage, to_stage, from_order, to_order, kind, n,
    n_from, probability, ci_low, ci_high.
    """
    fw = get_framework(framework)
    eng = as_engine(data, customers=customers)
    t = eng.transition_counts(fw.name, arm_col=arm_col)
    t.insert(0, "framework", fw.name)
    t["kind"] = _kind(t["from_order"], t["to_order"], len(fw.stages))
    t["n_from"] = t.groupby(["arm", "from_stage"])["n"].transform("sum")
    t["probability"] = t["n"] / t["n_from"]
    t["ci_low"], t["ci_high"] = wilson_ci(t["n"], t["n_from"], alpha)
    return t.sort_values(["arm", "from_order", "to_order"], ignore_index=True)


def transition_matrix(trans: pd.DataFrame, arm: str | None = None, value: str = "probability") -> pd.DataFrame:
    """Wide from_stage x to_stage matrix of one arm (all arms pooled if ``arm`` is None)."""
    t = trans if arm is None else trans[trans["arm"] == arm]
    if arm is None and value == "probability":
        g = t.groupby(["from_stage", "from_order", "to_stage", "to_order"], as_index=False)["n"].sum()
        g["probability"] = g["n"] / g.groupby("from_stage")["n"].transform("sum")
        t = g
    rows = t.drop_duplicates("from_stage").sort_values("from_order")["from_stage"]
    cols = t.drop_duplicates("to_stage").sort_values("to_order")["to_stage"]
    m = t.pivot_table(index="from_stage", columns="to_stage", values=value, aggfunc="sum", fill_value=0)
    return m.reindex(index=list(rows), columns=list(cols), fill_value=0)


def top_paths(
    data: Engine | Source,
    *,
    framework: str,
    customers: Source | None = None,
    arm_col: str | None = None,
    top: int = 10,
) -> pd.DataFrame:
    """The ``top`` most frequent stage sequences per arm, with their share of the arm's customers.

    Columns: framework, arm, rank, path, n_customers, share.
    """
    fw = get_framework(framework)
    eng = as_engine(data, customers=customers)
    p = eng.path_counts(fw.name, arm_col=arm_col, top=top)
    totals = eng.transition_counts(fw.name, arm_col=arm_col)
    n_cust = totals[totals["from_stage"] == "(entry)"].groupby("arm")["n"].sum()
    p["share"] = p["n_customers"] / p["arm"].map(n_cust)
    p.insert(0, "framework", fw.name)
    return p[["framework", "arm", "rank", "path", "n_customers", "share"]]


def loops(trans: pd.DataFrame, *, alpha: float = 0.05) -> pd.DataFrame:
    """Loops back and repeats per arm.

    ``share_of_moves`` = loop transitions / all stage-to-stage moves of the arm;
    ``loop_rate`` = customers who made the loop at least once / customers who
    reached ``from_stage`` (entered it; for the decision journey's last stage,
    the probability of a first loyalty loop). Wilson interval on ``loop_rate``.
    Columns: framework, arm, from_stage, to_stage, kind, n, n_customers,
    share_of_moves, n_at_from, loop_rate, ci_low, ci_high.
    """
    moves = trans[~trans["kind"].isin(["entry", "exit"])]
    total = moves.groupby("arm")["n"].sum()
    lp = moves[moves["kind"].isin(["back", "repeat"])].copy()
    lp["share_of_moves"] = lp["n"] / lp["arm"].map(total).astype("float64")
    lp["n_at_from"] = lp["n_from_customers"]
    lp["loop_rate"] = lp["n_customers"] / lp["n_at_from"]
    lp["ci_low"], lp["ci_high"] = wilson_ci(lp["n_customers"], lp["n_at_from"], alpha)
    cols = ["framework", "arm", "from_stage", "to_stage", "kind", "n", "n_customers", "share_of_moves",
            "n_at_from", "loop_rate", "ci_low", "ci_high"]  # fmt: skip
    return lp[cols].reset_index(drop=True)
