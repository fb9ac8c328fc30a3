"""Plain-language conclusions and the CSV outputs of the touch-model experiment notebook.

``OUTPUT_COLUMNS`` lists the columns of every CSV the notebook writes (the interface):
``effects.csv`` (:mod:`.effects`), ``srm.csv`` and ``balance.csv`` (:mod:`.srm`),
``segments.csv`` and ``interaction.csv`` (:mod:`.segments`), ``value.csv`` (:mod:`.value`),
``power.csv`` (:mod:`.power`), ``bayes.csv`` (:mod:`.bayes`), ``survival.csv`` (:mod:`.churn`).
Tables that do not apply to a run (no covariates -> no balance; no segment column ->
no segments; no revenue/cost -> no value) are written with their header only.

Example
-------
>>> import pandas as pd
>>> eff = pd.DataFrame({"metric": ["y"], "arm": ["t"], "control": ["c"], "diff": [0.2], "ci_low": [0.1],
...                     "ci_high": [0.3], "rel_diff": [0.1], "p_adjusted": [0.01], "method": ["welch"]})
>>> conclusions(eff)[0][:29]
'y: t is higher than c by +0.2'
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..io import project_root
from .effects import EFFECT_COLUMNS

__all__ = ["OUTPUT_COLUMNS", "HILLSTROM_PARAMETERS", "conclusions", "write_tables", "output_folder"]

#: Notebook parameters for the real-data report run on the Hillstrom e-mail experiment
#: (two low-touch e-mail campaigns vs no e-mail; the data has no cost column, so the
#: cost per e-mailed customer is an assumption: 0.10 per send).
HILLSTROM_PARAMETERS: dict = {
    "data_path": "data/real/hillstrom/hillstrom.csv",
    "arm_col": "segment",
    "control": "No E-Mail",
    "metrics": {"visit": "binary", "conversion": "binary", "spend": "continuous"},
    "covariates": ["recency", "history"],
    "segment_col": "zip_code",
    "costs": {"No E-Mail": 0.0, "Mens E-Mail": 0.10, "Womens E-Mail": 0.10},
    "cost_col": None,
    "value_metric": "spend",
    "output_dir": "reports/touch_model_experiment_hillstrom",
}

OUTPUT_COLUMNS: dict[str, list[str]] = {
    "effects.csv": EFFECT_COLUMNS,
    "srm.csv": ["arm", "n_observed", "n_expected", "planned_share", "observed_share", "chi2", "df", "p_value",
                "srm_detected"],
    "balance.csv": ["covariate", "arm", "control", "mean_arm", "mean_control", "sd_arm", "sd_control", "smd",
                    "p_value", "imbalanced"],
    "segments.csv": ["segment"] + EFFECT_COLUMNS + ["interaction_p_value"],
    "interaction.csv": ["metric", "statistic", "df", "p_value", "n_segments", "method"],
    "value.csv": ["segment", "arm", "control", "n_arm", "revenue_per_customer", "cost_per_customer",
                  "value_per_customer", "incremental_revenue", "incremental_cost", "incremental_value", "ci_low",
                  "ci_high", "p_value", "prob_best", "best"],
    "power.csv": ["metric", "kind", "baseline", "sd", "n_per_arm_current", "n_comparisons", "alpha_per_comparison",
                  "power", "mde_current", "mde_current_rel", "target_rel_mde", "target_mde", "n_per_arm_required"],
    "bayes.csv": ["metric", "arm", "control", "mean_arm", "mean_control", "posterior_mean_diff", "cred_low",
                  "cred_high", "prob_beat_control", "expected_loss", "method"],
    "survival.csv": ["metric", "arm", "control", "n_arm", "n_control", "events_arm", "events_control", "median_arm",
                     "median_control", "logrank_chi2", "logrank_df", "p_value"],
}


def output_folder(output_dir: str | Path) -> Path:
    """``output_dir`` made absolute (relative paths are taken from the repository root) and created."""
    p = Path(output_dir).expanduser()
    if not p.is_absolute():
        p = project_root() / p
    p.mkdir(parents=True, exist_ok=True)
    return p


def write_tables(output_dir: str | Path, tables: dict[str, pd.DataFrame | None]) -> list[Path]:
    """Write each table as ``<name>.csv`` (header only when None/empty) with the documented columns first."""
    folder = output_folder(output_dir)
    written = []
    for name, df in tables.items():
        fname = name if name.endswith(".csv") else f"{name}.csv"
        cols = OUTPUT_COLUMNS.get(fname)
        if df is None or len(df) == 0:
            df = pd.DataFrame(columns=cols or [])
        elif cols:
            missing = [c for c in cols if c not in df.columns]
            if missing:
                raise ValueError(f"{fname}: columns {missing} are missing from the table")
            df = df[cols + [c for c in df.columns if c not in cols]]
        path = folder / fname
        df.to_csv(path, index=False)
        written.append(path)
    return written


def _fmt(x: float) -> str:
    return f"{x:+.3g}"


def conclusions(
    effects: pd.DataFrame,
    srm_table: pd.DataFrame | None = None,
    balance_table: pd.DataFrame | None = None,
    interaction: pd.DataFrame | None = None,
    value_table: pd.DataFrame | None = None,
    alpha: float = 0.05,
) -> list[str]:
    """Plain-language findings, one sentence per line, from the result tables.

    Uses the adjusted p-values of the primary (unadjusted-estimate) rows; CUPED/ANCOVA rows
    are mentioned as precision gains, not as separate findings.
    """
    lines = []
    if srm_table is not None and len(srm_table) and bool(srm_table["srm_detected"].iloc[0]):
        lines.append(f"WARNING: sample ratio mismatch (p = {srm_table['p_value'].iloc[0]:.2g}); the results below "
                     f"may be biased until the assignment is explained.")
    if balance_table is not None and len(balance_table) and balance_table["imbalanced"].any():
        bad = balance_table.loc[balance_table["imbalanced"], "covariate"].unique().tolist()
        lines.append(f"Covariate imbalance (|SMD| > 0.1) on {bad}: prefer the covariate-adjusted rows.")
    primary = effects[~effects["method"].isin(["cuped", "ancova_hc1", "mann_whitney", "bootstrap"])]
    for _, r in primary.iterrows():
        ci = f"CI {r['ci_low']:.3g} to {r['ci_high']:.3g}"
        p = f"adjusted p = {r['p_adjusted']:.2g}"
        if r["method"] == "cox":
            lines.append(f"{r['metric']}: hazard ratio {r['arm']} / {r['control']} = {r['diff']:.3g} ({ci}; {p})"
                         + (" -- a detectable difference." if r["p_adjusted"] < alpha else " -- no detectable difference."))
        elif r["p_adjusted"] < alpha:
            word = "higher" if r["diff"] > 0 else "lower"
            rel = "" if pd.isna(r["rel_diff"]) else f", {r['rel_diff']:+.1%}"
            lines.append(f"{r['metric']}: {r['arm']} is {word} than {r['control']} by {_fmt(r['diff'])} ({ci}{rel}; {p}).")
        else:
            lines.append(f"{r['metric']}: no detectable difference between {r['arm']} and {r['control']} "
                         f"({_fmt(r['diff'])}, {ci}; {p}) -- not evidence of no effect.")
    cuped = effects[effects["method"] == "cuped"]
    if len(cuped):
        lines.append(f"Covariate adjustment (CUPED) cut the variance of the estimates by "
                     f"{cuped['variance_reduction'].median():.0%} (median over comparisons).")
    if interaction is not None and len(interaction):
        het = interaction[interaction["p_value"] < alpha]["metric"].tolist()
        lines.append(f"Effects differ between segments (arm x segment interaction, p < {alpha}) for: {het}."
                     if het else "No evidence that effects differ between segments (interaction tests).")
    if value_table is not None and len(value_table):
        for seg, g in value_table.groupby("segment", sort=False):
            b = g[g["best"]].iloc[0]
            lines.append(f"Value ({seg}): best arm {b['arm']} at {b['value_per_customer']:.3g} per customer "
                         f"(P(best) = {b['prob_best']:.0%}).")
    return lines
