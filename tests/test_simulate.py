"""The simulator: deterministic under a seed, and its tables carry the truth it claims.

Recovery checks use independent textbook estimators (difference in means with a
Welch standard error, the congeneric one-factor identity lambda_1 = sqrt(r12 r13 / r23),
sample proportions), never the toolkit's own analysis code.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from engagement_kit import frameworks as fw
from engagement_kit.cli import main as cli_main
from engagement_kit.schema import CONTRACTS, DEFAULT_SCALES, REVERSE_KEYED_ITEMS
from engagement_kit.simulate import simulate


@pytest.fixture(scope="module")
def big():
    return simulate(n_customers=200_000, seed=11)


def _joined(sim):
    df = sim.customers.merge(sim.outcomes, on="customer_id").merge(sim.survey, on="customer_id")
    df["promoter"] = (df["nps"] >= 9).astype(float)
    df["nps_points"] = np.where(df["nps"] >= 9, 100.0, np.where(df["nps"] <= 6, -100.0, 0.0))
    return df


def test_same_seed_gives_identical_tables_and_other_seed_differs():
    a = simulate(n_customers=3_000, seed=5, truth=False)
    b = simulate(n_customers=3_000, seed=5, truth=False)
    c = simulate(n_customers=3_000, seed=6, truth=False)
    for kind in a.tables():
        pd.testing.assert_frame_equal(a.tables()[kind], b.tables()[kind])
    assert not a.outcomes["revenue"].equals(c.outcomes["revenue"])


def test_tables_follow_the_contract_columns():
    sim = simulate(n_customers=2_000, seed=1, truth=False)
    for kind, df in sim.tables().items():
        for col in CONTRACTS[kind].required_columns:
            assert col in df.columns, (kind, col)
    assert sim.customers["customer_id"].is_unique
    assert set(sim.customers["touch_model"]) == set(fw.TOUCH_MODEL_NAMES)
    items = [c for s in DEFAULT_SCALES.values() for c in s]
    assert sim.survey[items].min().min() >= 1 and sim.survey[items].max().max() <= 7
    assert sim.survey["nps"].between(0, 10).all() and sim.survey["csat"].between(1, 5).all()
    assert (sim.outcomes["retained"] == ~sim.outcomes["churned"]).all()
    assert (sim.outcomes["churn_time"] <= 365).all()
    assert (sim.events["timestamp"] <= sim.truth.observation_end).all()
    for f, d in sim.events.groupby("framework", observed=True):
        assert set(d["stage"].astype(str)) <= set(fw.FRAMEWORKS[f].stage_names)


@pytest.mark.parametrize(
    "metric,column",
    [
        ("retained", "retained"),
        ("revenue", "revenue"),
        ("expansion_revenue", "expansion_revenue"),
        ("referrals", "referrals"),
        ("csat", "csat"),
        ("promoter", "promoter"),
        ("nps", "nps_points"),
        ("cost_to_serve", "cost_to_serve"),
    ],
)
def test_arm_differences_recover_the_true_effects(big, metric, column):
    df = _joined(big)
    for arm in ("high_touch", "low_touch"):
        x = df.loc[df.touch_model == arm, column].astype(float)
        y = df.loc[df.touch_model == "no_touch", column].astype(float)
        diff = x.mean() - y.mean()
        se = np.sqrt(x.var() / len(x) + y.var() / len(y))
        truth = big.truth.effect(metric, arm)
        assert abs(diff - truth) < 4 * se, (metric, arm, diff, truth, se)


def test_latent_dimension_shifts_recover_the_true_effects(big):
    lat = big.truth.latents.merge(big.customers[["customer_id", "touch_model"]], on="customer_id")
    means = lat.groupby("touch_model")[list(fw.DIMENSION_NAMES)].mean()
    for arm in ("high_touch", "low_touch"):
        for d in fw.DIMENSION_NAMES:
            est = means.loc[arm, d] - means.loc["no_touch", d]
            assert abs(est - big.truth.effect(d, arm)) < 0.03  # SE about 0.0055


def test_item_loadings_recover_the_truth_from_the_one_factor_identity():
    sim = simulate(n_customers=200_000, seed=3, item_scale="continuous", truth=False)
    control = sim.survey[sim.customers["touch_model"].to_numpy() == "no_touch"]
    truth = sim.truth.loadings.set_index("item")["loading"]
    for scale, items in DEFAULT_SCALES.items():
        x = control[items].astype(float).copy()
        for it in items:
            if it in REVERSE_KEYED_ITEMS:
                x[it] = 8 - x[it]
        r = x.corr().to_numpy()
        for i in range(4):
            j, k = [m for m in range(4) if m != i][:2]
            est = np.sqrt(r[i, j] * r[i, k] / r[j, k])
            assert abs(est - truth[items[i]]) < 0.02, (items[i], est, truth[items[i]])


def test_likert_items_load_positively_after_reverse_scoring(big):
    s = big.survey
    for scale, items in DEFAULT_SCALES.items():
        rev = items[-1]
        assert np.corrcoef(s[items[0]], s[rev])[0, 1] < -0.2
        assert np.corrcoef(s[items[0]], 8 - s[rev])[0, 1] > 0.2


def test_stage_transition_probabilities_are_recovered(big):
    ev = big.events.merge(big.customers[["customer_id", "touch_model"]], on="customer_id")
    reached = ev.groupby(["framework", "stage", "touch_model"], observed=True)["customer_id"].nunique()
    tp = big.truth.transition_probs.dropna(subset=["from_stage"])
    tp = tp[~((tp.framework == "mckinsey_cdj") & (tp.from_stage == "post_purchase"))]
    for row in tp.itertuples():
        n_from = reached[(row.framework, row.from_stage, row.touch_model)]
        n_to = reached[(row.framework, row.to_stage, row.touch_model)]
        p = n_to / n_from
        se = np.sqrt(row.probability * (1 - row.probability) / n_from)
        assert abs(p - row.probability) < 4 * se, row


def test_confounded_assignment_makes_high_touch_look_better_than_it_is():
    sim = simulate(n_customers=60_000, seed=2, assignment="confounded")
    df = sim.customers.merge(sim.outcomes, on="customer_id")
    naive = df.loc[df.touch_model == "high_touch", "revenue"].mean() - df.loc[df.touch_model == "no_touch", "revenue"].mean()
    truth = sim.truth.effect("revenue", "high_touch")
    assert naive > 2 * truth
    share_ent = df.groupby("touch_model")["segment"].apply(lambda s: (s == "enterprise").mean())
    assert share_ent["high_touch"] > 5 * share_ent["no_touch"]


def test_null_effects_give_a_zero_truth_and_no_difference():
    sim = simulate(n_customers=60_000, seed=4, dimension_effects={}, outcome_effects={}, dsce_effects={})
    eff = sim.truth.arm_effects
    # common random numbers: the Monte-Carlo truth under the null is exactly zero
    assert np.allclose(eff.loc[eff.metric != "cost_to_serve", "diff"], 0.0, atol=1e-12)
    df = sim.customers.merge(sim.outcomes, on="customer_id")
    x = df.loc[df.touch_model == "high_touch", "retained"].astype(float)
    y = df.loc[df.touch_model == "no_touch", "retained"].astype(float)
    assert abs(x.mean() - y.mean()) < 4 * np.sqrt(x.var() / len(x) + y.var() / len(y))


def test_bad_arguments_are_rejected_with_a_message():
    with pytest.raises(ValueError, match="assignment"):
        simulate(100, assignment="random")
    with pytest.raises(ValueError, match="unknown frameworks"):
        simulate(100, frameworks=["aarr"])
    with pytest.raises(ValueError, match="unknown touch models"):
        simulate(100, dimension_effects={"hi_touch": {"enthusiasm": 1}})
    with pytest.raises(ValueError, match="sum to 1"):
        simulate(100, allocation={"high_touch": 0.5, "low_touch": 0.2, "no_touch": 0.2})


def test_cli_writes_tables_and_ground_truth(tmp_path, capsys):
    assert cli_main(["simulate", "--customers", "500", "--seed", "9", "--out", str(tmp_path)]) == 0
    for kind in CONTRACTS:
        assert (tmp_path / f"{kind}.csv").is_file()
    truth = json.loads((tmp_path / "ground_truth.json").read_text())
    assert {"arm_effects", "loadings", "transition_probs", "dsce_drivers"} <= set(truth)
    back = pd.read_csv(tmp_path / "outcomes.csv")
    expected = simulate(n_customers=500, seed=9, truth=False).outcomes
    assert np.allclose(back["revenue"], expected["revenue"])
    assert "simulated 500 customers" in capsys.readouterr().out


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_columnar_writer_gives_the_bytes_and_values_pandas_gives(tmp_path, fmt):
    """The DuckDB CSV writer replaced pandas' to_csv: the reference is pandas itself (same
    bytes: ids as text, dates, booleans, missing items, 5-decimal latents); Parquet reads
    back to the same frames."""
    from engagement_kit.io import read_table

    sim = simulate(n_customers=400, seed=4, survey_response_rate=0.7, item_missing_rate=0.1)
    sim.write(tmp_path, fmt=fmt)
    for kind, df in sim.tables().items():
        path = tmp_path / f"{kind}.{fmt}"
        if fmt == "csv":
            ref = df.to_csv(index=False, date_format="%Y-%m-%d" if kind != "events" else None)
            assert path.read_text() == ref, kind
        else:
            pd.testing.assert_frame_equal(pd.read_parquet(path), df, check_categorical=False)
        back = read_table(path)  # the validated reader accepts what the simulator writes
        assert len(back) == len(df) and list(back.columns) == list(df.columns)
        assert back["customer_id"].astype(str).str.startswith("C").all()  # ids stay text
    ref = sim.truth.latents.to_csv(index=False, float_format="%.5f")
    assert (tmp_path / "truth_latents.csv").read_text() == ref


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_simulate_to_writes_while_drawing_the_same_files_and_tables(tmp_path, fmt):
    """simulate_to (what the command runs: each table written while the next is drawn) gives
    the files simulate().write gives, byte for byte, and the same tables in memory."""
    from engagement_kit.simulate import simulate_to

    options = {"n_customers": 700, "seed": 8, "survey_response_rate": 0.8, "item_missing_rate": 0.05, "arrival_weeks": 3}
    ref = simulate(**options)
    ref_paths = ref.write(tmp_path / "ref", fmt=fmt)
    sim, paths = simulate_to(tmp_path / "new", fmt=fmt, **options)
    assert [p.name for p in paths] == [p.name for p in ref_paths]
    for a, b in zip(ref_paths, paths):
        assert a.read_bytes() == b.read_bytes(), a.name
    for kind, df in ref.tables().items():
        pd.testing.assert_frame_equal(sim.tables()[kind], df, check_exact=True)
    pd.testing.assert_frame_equal(sim.truth.arm_effects, ref.truth.arm_effects, check_exact=True)
    with pytest.raises(ValueError, match="assignment"):
        simulate_to(tmp_path / "bad", n_customers=10, assignment="random")
    assert not (tmp_path / "bad").exists()  # nothing written before the options are checked
    with pytest.raises(TypeError):
        simulate_to(tmp_path / "bad", n_customerz=10)


@pytest.mark.parametrize(
    "extra",
    [
        {},  # the pyarrow path
        {"label": ["a, b", "c"]},  # needs quotes: DuckDB
        {"tiny": [1e-7, 2.5]},  # exponent form in repr: DuckDB
        {"same": [2.0, 2.0], "few": [0.1, 0.1]},  # few distinct floats: formatted once per value (pyarrow)
        {"cat_q": pd.Categorical(['say "hi"', "c"])},  # a category needing quotes: DuckDB
        {"cat_nl": pd.Categorical(["u", "v\nw"], categories=["u", "v\nw", "x,y"])},  # line break: DuckDB
        {"empty": ["", "c"]},  # an empty string: an empty field, as pandas writes it (pyarrow)
    ],
)
@pytest.mark.parametrize("split_rows", [2_000_000, 2, 3])
def test_csv_writer_matches_pandas_on_either_path(tmp_path, monkeypatch, extra, split_rows):
    """write_csv picks pyarrow or DuckDB per frame; both must give pandas' bytes, also when
    the frame is formatted in two halves (CSV_SPLIT_ROWS, lowered here to split 2 rows)."""
    from engagement_kit import simulate as simulate_module
    from engagement_kit.simulate import write_csv

    monkeypatch.setattr(simulate_module, "CSV_SPLIT_ROWS", split_rows)

    df = pd.DataFrame({
        "id": ["C1", "C2"], "x": [365.0, -0.0], "y": [0.1, 123456789.25], "n": pd.array([3, None], dtype="Int64"),
        "b": [True, False], "t": pd.to_datetime(["2025-01-02 03:04:05", "2024-12-31 00:00:00"]),
        "c": pd.Categorical(["u", "v"]), "m": [np.nan, 1.5], **extra,
    })  # fmt: skip
    path = write_csv(df, tmp_path / "t.csv")
    assert path.read_text() == df.to_csv(index=False)


def test_survey_exports_are_skipped_above_the_auto_limit_and_forced_with_yes(tmp_path, monkeypatch, capsys):
    """`simulate --survey-exports auto` writes the Qualtrics/SPSS demo exports only up to
    SURVEY_EXPORTS_AUTO_MAX customers (they cost more than the tables at 1M) and says so."""
    from engagement_kit import cli

    monkeypatch.setattr(cli, "SURVEY_EXPORTS_AUTO_MAX", 100)
    assert cli.main(["simulate", "--customers", "300", "--seed", "3", "--out", str(tmp_path / "auto")]) == 0
    assert "survey exports (Qualtrics CSV, SPSS .sav) skipped" in capsys.readouterr().out
    assert not (tmp_path / "auto" / "survey.sav").exists() and (tmp_path / "auto" / "survey.csv").exists()
    assert cli.main(["simulate", "--customers", "300", "--seed", "3", "--survey-exports", "yes",
                     "--out", str(tmp_path / "yes")]) == 0
    assert (tmp_path / "yes" / "survey.sav").exists() and (tmp_path / "yes" / "survey_qualtrics.csv").exists()
