"""Tables and summaries for people (issue #17): the display layer's rules, one by one.

The rules are the issue's: no index; shares in %, their differences in percentage points,
NPS in points, money with its currency; 2-3 significant digits and no ``e`` notation;
p-values as ``< 0.001`` / ``0.012``; "not reached" for a survival median never reached,
"–" for other gaps; suppressed rows marked; the columns that tell rows apart first; every
label escaped in HTML. The CSVs are untouched (full precision).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

from engagement_kit.display import Table, column_label, format_estimate, format_number, format_p, format_table, show
from engagement_kit.i18n import messages
from engagement_kit.results import Result
from engagement_kit.summary import Summary, read_summary

SCRIPT = "<script>window.EK_PWNED=1</script>"


@pytest.mark.parametrize(("p", "text"), [(1.6415e-10, "< 0.001"), (0.000999, "< 0.001"), (0.001, "0.001"),
                                         (0.01234, "0.012"), (0.0996, "0.100"), (0.4567, "0.46"), (0.999, "1"),
                                         (float("nan"), "–")])
def test_p_values_read_as_people_write_them(p, text):
    assert format_p(p) == text


@pytest.mark.parametrize(("x", "text"), [(12345.6, "12,346"), (4.937, "4.94"), (0.012345, "0.0123"), (1e-7, "0.00000010"),
                                         (-2.5e6, "-2,500,000"), (0, "0"), (float("inf"), "∞")])
def test_numbers_have_three_significant_digits_and_never_e_notation(x, text):
    assert format_number(x) == text


def test_numbers_follow_the_language():
    assert format_number(1234.567, language="it") == "1.235" and format_number(4.937, language="it") == "4,94"


def test_effects_in_the_units_of_their_metric():
    t = pd.DataFrame({
        "metric": ["retained", "nps", "revenue", "churn"], "arm": ["t"] * 4, "control": ["c"] * 4,
        "method": ["z_wald", "z_nps", "welch", "cox"], "mean_arm": [0.762, 12.4, 248.3, 0.8], "mean_control": [0.713, -7.8, 189.0, 0.75],
        "diff": [0.0494, 20.2, 59.3, 0.803], "ci_low": [0.0347, 17.5, 34.4, 0.751], "ci_high": [0.0641, 22.9, 84.2, 0.858],
        "rel_diff": [0.0693, np.nan, 0.314, -0.197], "p_value": [1e-12, 2e-9, 0.0004, 0.03],
    })
    shown = format_table(t, kinds={"retained": "binary", "nps": "nps", "revenue": "continuous", "churn": "time_to_event"},
                         money=["revenue"], currency="€").set_index("Metric")
    assert shown.loc["retained", ["Mean (arm)", "Difference", "CI"]].tolist() == ["76.2 %", "+4.94 pp", "+3.47 to +6.41 pp"]
    assert shown.loc["nps", ["Difference", "CI", "Relative difference"]].tolist() == ["+20.2 points", "+17.5 to +22.9 points", "–"]
    assert shown.loc["revenue", ["Mean (arm)", "Difference", "CI"]].tolist() == ["€ 248", "€ +59.3", "€ +34.4 to +84.2"]
    assert shown.loc["churn", ["Difference", "CI"]].tolist() == ["0.803", "0.751 to 0.858"]  # a hazard ratio
    assert shown["p-value"].tolist() == ["< 0.001", "< 0.001", "< 0.001", "0.030"]
    assert list(shown.columns[:2]) == ["Method", "Arm"]  # what tells rows apart comes first


def test_survival_medians_not_reached_and_suppressed_rows_marked():
    t = pd.DataFrame({"metric": ["churn", "churn"], "arm": ["t", "u"], "n_arm": [500.0, np.nan],
                      "median_arm": [np.nan, np.nan], "p_value": [0.2, np.nan], "suppressed": [False, True]})
    shown = format_table(t)
    assert shown["Median lifetime (arm)"].tolist() == ["not reached", "suppressed"]
    assert shown["n (arm)"].tolist() == ["500", "suppressed"] and "suppressed" not in shown.columns


def test_power_twins_are_told_apart_early():
    t = pd.DataFrame({"metric": ["y", "y"], "kind": ["binary"] * 2, "baseline": [0.3, 0.3], "n_per_arm_required": [3948, 941],
                      "target_rel_mde": [0.05, 0.10]})
    shown = format_table(t)
    assert list(shown.columns[:3]) == ["Metric", "Kind", "Target relative MDE"]
    assert shown["Target relative MDE"].tolist() == ["5.00 %", "10.0 %"]


def test_estimates_in_words():
    assert format_estimate(0.0494, 0.0347, 0.0641, kind="binary") == ("+4.94 pp", "+3.47 to +6.41 pp")
    assert format_estimate(20.2, 17.5, 22.9, kind="nps", signed=False) == ("20.2 points", "17.5 to 22.9 points")


def test_html_tables_have_no_index_and_escape_every_label():
    t = pd.DataFrame({"segment": [SCRIPT] * 20, "share": np.linspace(0.1, 0.9, 20)}, index=range(100, 120))
    html = show(t).to_html()
    assert SCRIPT not in html and "&lt;script&gt;" in html
    assert "<th>100</th>" not in html and "<tbody><tr><td>" in html  # no index cell
    assert 'class="ek-table ek-long"' in html and 'data-sort="0.1"' in html
    assert "ek-long" not in Table(pd.DataFrame({"a": [1]})).to_html()


def test_every_published_column_has_a_readable_header():
    import engagement_kit.dsce.scorecard  # noqa: F401  (registers the result classes)
    import engagement_kit.experiments.result  # noqa: F401
    import engagement_kit.journeys.analysis  # noqa: F401
    import engagement_kit.measurement.analysis  # noqa: F401
    import engagement_kit.overview  # noqa: F401
    import engagement_kit.targeting  # noqa: F401

    def classes(c):
        for s in c.__subclasses__():
            yield s
            yield from classes(s)

    missing = {(k.__name__, c) for k in classes(Result) for cols in k.COLUMNS.values() for c in cols
               if f"columns.{c}" not in messages("en") and c not in ("customer_id", "account_id")}
    assert not missing, f"add columns.<name> to engagement_kit/i18n/en.yaml for {sorted(missing)}"
    assert column_label("p_adjusted") == "adjusted p"


def test_summary_box_escapes_and_round_trips(tmp_path):
    s = Summary(question=f"Does {SCRIPT} work?", verdicts=(f"{SCRIPT} raises y by 4.9 pp",), data="10 customers",
                caveats=("*bold*",))
    html = s.to_html()
    assert SCRIPT not in html and html.startswith('<div class="ek-summary" id="summary">')
    assert SCRIPT not in s.to_markdown() and "\\*bold\\*" in s.to_markdown()
    s.write(tmp_path)
    assert read_summary(tmp_path)["verdict"] == s.verdicts[0]
    (tmp_path / "elsewhere.json").write_text('{"verdict": "x"}')
    (tmp_path / "summary.json").unlink()
    (tmp_path / "summary.json").symlink_to(tmp_path / "elsewhere.json")
    assert read_summary(tmp_path) is None  # never followed


def test_experiment_summary_reads_like_the_issue():
    from engagement_kit.experiments import experiment

    rng = np.random.default_rng(5)
    n = 6000
    arm = rng.choice(["ctl", "high"], n)
    df = pd.DataFrame({"arm": arm, "retained": rng.random(n) < np.where(arm == "high", 0.76, 0.71),
                       "nps": rng.choice([0, 8, 10], n, p=[0.3, 0.4, 0.3])})
    df["retained"] = df["retained"].astype(int)
    r = experiment(df, arm_col="arm", control="ctl", metrics={"retained": "binary", "nps": "nps"})
    s = r.summary()
    ret = r.tables()["effects"].set_index("metric").loc["retained"]
    assert s.verdicts[0].startswith("high raises retained by ") and s.verdicts[0].endswith("pp; adjusted p < 0.001).")
    assert f"{100 * ret['diff']:.3g}" in s.verdicts[0] and "95 % CI" in s.verdicts[0]
    assert "points" in s.verdicts[1] and "%" not in s.verdicts[1].replace("95 % CI", "")  # NPS in points only
    assert s.data.startswith("6,000 customers in 2 arms")
    eff = r.tables()["effects"].set_index("metric")
    assert math.isnan(eff.loc["nps", "rel_diff"]) and not math.isnan(eff.loc["retained", "rel_diff"])
    shown = r.display("effects").data
    assert shown.loc[shown["Metric"] == "retained", "Mean (arm)"].str.endswith("%").all()


def test_result_notes_appear_among_the_caveats():
    from engagement_kit.experiments import experiment

    df = pd.DataFrame({"arm": ["c"] * 50 + ["t"] * 50, "y": [-1.0, 1.0] * 25 + list(np.arange(50.0))})
    r = experiment(df, arm_col="arm", control="c", metrics={"y": "continuous"})
    assert r.notes and any("baseline mean is 0" in n for n in r.notes)
    assert any("baseline mean is 0" in c for c in r.summary().caveats)
    assert dataclasses.replace(r, notes=()).summary().caveats == ()
