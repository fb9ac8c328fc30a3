"""Validation of tables against their data contracts (engagement_kit.validation, .io).

The corpus under tests/data/bad/ holds one small file per class of bad input; each
test reads the file as a user would and checks that exactly that problem is
reported, naming the table, the column, the offending rows and a fix. Row numbers
are 1-based data rows, so row r is line r + 1 of the CSV file; several tests check
that against the file text itself.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engagement_kit import cli
from engagement_kit.frameworks import DSCE_COMPONENT_NAMES, TOUCH_MODEL_NAMES
from engagement_kit.io import file_fingerprint, read_table
from engagement_kit.schema import TABLE_KINDS
from engagement_kit.validation import (
    MAX_ABS_VALUE,
    Problem,
    ValidationError,
    check,
    check_finite,
    problems_frame,
    validate,
)

DATA = Path(__file__).resolve().parent / "data"
BAD, GOOD = DATA / "bad", DATA / "good"
TODAY = "2026-01-01"  # fixed, so the "future date" cases do not depend on the clock

# file, kind, options, code, column, rows, a phrase the fix must contain
BAD_CASES = [
    ("customers_misspelled_column.csv", "customers", {}, "missing_column", "touch_model", (),
     "rename column 'touch_modle' to 'touch_model'"),
    ("customers_missing_column.csv", "customers", {}, "missing_column", "signup_date", (),
     "add a column 'signup_date'"),
    ("customers_bad_date.csv", "customers", {}, "wrong_type", "signup_date", (2, 3), "YYYY-MM-DD"),
    ("customers_future_date.csv", "customers", {}, "future_date", "signup_date", (2,), "correct the dates"),
    ("customers_duplicate_ids.csv", "customers", {}, "duplicate_id", "customer_id", (2, 4),
     "one row per customer_id"),
    ("customers_unknown_arm.csv", "customers", {}, "unknown_label", "touch_model", (3,),
     "'High Touch' -> 'high_touch'"),
    ("customers_arm_without_rows.csv", "customers", {"arms": list(TOUCH_MODEL_NAMES)}, "empty_arm",
     "touch_model", (), "spelling of the arm labels"),
    ("customers_all_missing_column.csv", "customers", {}, "all_missing", "segment", (), "fill in 'segment'"),
    ("customers_missing_values.csv", "customers", {}, "missing_values", "touch_model", (2,),
     "fill in 'touch_model'"),
    ("customers_empty.csv", "customers", {}, "empty_table", None, (), "right file"),
    ("outcomes_wrong_type.csv", "outcomes", {}, "wrong_type", "revenue", (3,), "plain numbers"),
    ("outcomes_bad_boolean.csv", "outcomes", {}, "wrong_type", "retained", (2,), "True/False"),
    ("survey_likert_out_of_range.csv", "survey", {}, "out_of_range", "enthusiasm_2", (2, 4), "likert_range"),
    ("survey_nps_out_of_range.csv", "survey", {}, "out_of_range", "nps", (3,), "NPS answers are 0-10"),
    ("survey_csat_out_of_range.csv", "survey", {}, "out_of_range", "csat", (1,), "CSAT answers are 1-5"),
    ("survey_misspelled_item.csv", "survey", {}, "unknown_column", "enthusiasim_3", (),
     "rename column 'enthusiasim_3' to 'enthusiasm_3'"),
    ("survey_duplicate_column.csv", "survey", {}, "duplicate_column", "nps", (), "rename or drop the second 'nps'"),
    ("dsce_out_of_range.csv", "dsce", {}, "out_of_range", "journey", (2,), "dsce_range"),
    ("events_unknown_stage.csv", "events", {}, "unknown_stage", "stage", (2,),
     "'retention' is a stage of aarrr, not of aidae"),
    ("events_unknown_framework.csv", "events", {}, "unknown_label", "framework", (2,), "'AIDA' -> 'aidae'"),
    # bad numbers: infinity (written inf / -Infinity), overflowing magnitudes, a half Likert point
    ("outcomes_infinite.csv", "outcomes", {}, "not_finite", "revenue", (2, 4), "finite numbers"),
    ("outcomes_too_large.csv", "outcomes", {}, "too_large", "revenue", (1, 3), "sums of squares"),
    ("survey_likert_not_whole.csv", "survey", {}, "wrong_type", "enthusiasm_3", (2,), "whole points"),
    # unparseable files: the reader turns them into a problem, not a traceback
    ("ragged.csv", "customers", {}, "unreadable", None, (2,), "as many fields as the header"),
    ("semicolon.csv", "customers", {}, "unreadable", None, (), "sep=';'"),
    ("latin1.csv", "customers", {}, "unreadable", None, (), "UTF-8"),
    ("not_a_table.csv", "customers", {}, "unreadable", None, (), "UTF-8"),
    ("corrupt.parquet", "customers", {}, "unreadable", None, (), "to_parquet"),
    ("corrupt.xlsx", "customers", {}, "unreadable", None, (), "save it as .xlsx"),
]


@pytest.mark.parametrize(
    ("name", "kind", "options", "code", "column", "rows", "fix"),
    BAD_CASES,
    ids=[c[0] for c in BAD_CASES],
)
def test_bad_file_is_rejected_naming_table_column_rows_and_fix(name, kind, options, code, column, rows, fix):
    with pytest.raises(ValidationError) as err:
        read_table(BAD / name, kind, today=TODAY, **options)
    problems = err.value.problems
    assert [p.code for p in problems] == [code], str(err.value)  # exactly this problem, nothing spurious
    p = problems[0]
    assert (p.table, p.column, p.rows) == (kind, column, rows)
    assert fix in p.fix
    text = str(err.value)
    assert (f"{kind}.{column}:" if column else f"{kind}:") in text
    for r in rows:
        assert str(r) in text


def test_every_class_of_bad_input_has_a_file_in_the_corpus():
    on_disk = {f.name for f in BAD.iterdir()}
    assert on_disk == {c[0] for c in BAD_CASES}
    assert {c[3] for c in BAD_CASES} >= {
        "missing_column", "unknown_column", "wrong_type", "out_of_range", "duplicate_id", "unknown_label",
        "unknown_stage", "missing_values", "all_missing", "empty_table", "empty_arm", "future_date", "unreadable",
        "duplicate_column", "not_finite", "too_large",
    }


@pytest.mark.parametrize(
    ("name", "kind", "value"),
    [
        ("outcomes_wrong_type.csv", "outcomes", "EUR 200"),
        ("customers_duplicate_ids.csv", "customers", "C002"),
        ("survey_nps_out_of_range.csv", "survey", ",11,"),
        ("events_unknown_stage.csv", "events", "retention"),
        ("ragged.csv", "customers", "extra,fields"),
    ],
)
def test_row_numbers_point_at_the_offending_line_of_the_file(name, kind, value):
    lines = (BAD / name).read_text(encoding="utf-8").splitlines()
    with pytest.raises(ValidationError) as err:
        read_table(BAD / name, kind)
    for row in err.value.problems[0].rows:
        assert value in lines[row]  # lines[0] is the header, so data row r is lines[r]


@pytest.mark.parametrize("kind", TABLE_KINDS)
def test_good_file_passes_and_is_coerced(kind):
    path = GOOD / f"{kind}.csv"
    assert validate(pd.read_csv(path), kind, today=TODAY) == []
    table = read_table(path, kind, today=TODAY)
    assert table["customer_id"].map(type).eq(str).all()
    assert len(table) == len(pd.read_csv(path))


def test_good_tables_get_contract_dtypes():
    customers = read_table(GOOD / "customers.csv", "customers", arms=list(TOUCH_MODEL_NAMES))
    assert pd.api.types.is_datetime64_dtype(customers["signup_date"])
    events = read_table(GOOD / "events.csv", "events")
    assert pd.api.types.is_datetime64_dtype(events["timestamp"])
    outcomes = read_table(GOOD / "outcomes.csv", "outcomes")
    assert outcomes["retained"].dtype == bool and outcomes["referrals"].dtype == np.int64
    survey = read_table(GOOD / "survey.csv", "survey")
    assert survey["attention_1"].isna().sum() == 1  # a skipped item stays missing, nothing else


def test_booleans_written_as_words_or_digits_are_accepted():
    outcomes = read_table(GOOD / "outcomes_text_booleans.csv", "outcomes")
    # file: TRUE/FALSE, no/yes, Y/N, 0/1, false/true
    assert outcomes["retained"].tolist() == [True, False, True, False, False]
    assert outcomes["churned"].tolist() == [False, True, False, True, True]
    assert outcomes["retained"].dtype == bool


def test_every_problem_is_reported_at_once():
    data = pd.DataFrame(
        {
            "customer_id": ["C1", "C2", "C2", "C4"],
            "segment": ["smb", "smb", "smb", "smb"],
            "touch_model": ["high_touch", "hi_touch", "no_touch", "low_touch"],
            "signup_date": ["2024-01-01", "2024-01-02", "2099-01-01", "soon"],
            "prior_revenue": [10.0, -5.0, 0.0, 1.0],
        }
    )
    problems = validate(data, "customers", today=TODAY)
    found = {(p.column, p.code, p.rows) for p in problems}
    assert found == {
        ("customer_id", "duplicate_id", (2, 3)),
        ("touch_model", "unknown_label", (2,)),
        ("signup_date", "future_date", (3,)),
        ("signup_date", "wrong_type", (4,)),
        ("prior_revenue", "out_of_range", (2,)),
    }
    with pytest.raises(ValidationError) as err:
        check(data, "customers", today=TODAY)
    assert len(err.value.problems) == 5
    assert str(err.value).startswith("5 problems in customers:")
    assert isinstance(err.value, ValueError)


def test_arms_replace_the_default_labels_and_each_must_have_rows():
    data = pd.DataFrame(
        {"customer_id": ["1", "2", "3"], "segment": ["a"] * 3,
         "touch_model": ["email", "control", "email"], "signup_date": ["2024-01-01"] * 3}
    )
    assert [p.code for p in validate(data, "customers")] == ["unknown_label"]
    assert validate(data, "customers", arms=["email", "control"]) == []
    problems = validate(data, "customers", arms=["email", "control", "sms"])
    assert [(p.code, p.column) for p in problems] == [("empty_arm", "touch_model")]
    assert "'sms'" in problems[0].message


def test_declared_likert_and_dsce_scales_are_used():
    survey = pd.DataFrame({"customer_id": ["1", "2"], "nps": [5, 6], "csat": [3, 3],
                           "survey_date": ["2024-01-01"] * 2, "enthusiasm_1": [0, 6]})
    assert [p.rows for p in validate(survey, "survey")] == [(1,)]
    assert validate(survey, "survey", likert_range=(0, 6)) == []
    dsce = pd.DataFrame({"customer_id": ["1"], **{c: [9.0] for c in DSCE_COMPONENT_NAMES}})
    assert len(validate(dsce, "dsce")) == len(DSCE_COMPONENT_NAMES)
    assert validate(dsce, "dsce", dsce_range=(0, 10)) == []


def test_survey_without_item_columns_is_reported():
    survey = pd.DataFrame({"customer_id": ["1"], "nps": [5], "csat": [3], "survey_date": ["2024-01-01"]})
    problems = validate(survey, "survey")
    assert [p.code for p in problems] == ["no_items"]
    assert "enthusiasm" in problems[0].fix


def test_type_items_are_range_checked_too():
    survey = pd.DataFrame({"customer_id": ["1", "2"], "nps": [5, 6], "csat": [3, 3],
                           "survey_date": ["2024-01-01"] * 2, "cognitive_2": [4, 12]})
    problems = validate(survey, "survey")
    assert [(p.column, p.code, p.rows) for p in problems] == [("cognitive_2", "out_of_range", (2,))]


def test_not_a_dataframe_is_a_problem_not_a_traceback():
    problems = validate([{"customer_id": "C1"}], "customers")
    assert [p.code for p in problems] == ["not_a_table"]
    with pytest.raises(ValidationError):
        check("customers.csv", "customers")


def test_unknown_kind_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown table kind"):
        validate(pd.DataFrame(), "customer")


def test_many_offending_rows_list_the_first_few_and_count_all():
    data = pd.DataFrame({"customer_id": [f"C{i}" for i in range(20)], "nps": [11] * 20, "csat": [3] * 20,
                         "survey_date": ["2024-01-01"] * 20, "enthusiasm_1": [4] * 20})
    (p,) = validate(data, "survey")
    assert p.rows == (1, 2, 3, 4, 5) and p.n_rows == 20
    assert "20 rows" in p.message and "rows 1, 2, 3, 4, 5, ..." in str(p)
    frame = problems_frame([p])
    assert frame.loc[0, "column"] == "nps" and frame.loc[0, "n_rows"] == 20


def test_missing_optional_survey_answers_are_allowed():
    data = pd.DataFrame({"customer_id": ["1", "2"], "nps": [np.nan, 7], "csat": [3, np.nan],
                         "survey_date": ["2024-01-01"] * 2, "enthusiasm_1": [4, np.nan]})
    assert validate(data, "survey") == []


def test_numeric_ids_become_strings_and_leading_zeros_survive(tmp_path):
    frame = pd.DataFrame({"customer_id": [1, 2], "segment": ["a", "b"], "touch_model": ["no_touch"] * 2,
                          "signup_date": ["2024-01-01"] * 2})
    assert check(frame, "customers")["customer_id"].tolist() == ["1", "2"]
    path = tmp_path / "customers.csv"
    path.write_text("customer_id,segment,touch_model,signup_date\n007,a,no_touch,2024-01-01\n", encoding="utf-8")
    assert read_table(path, "customers")["customer_id"].tolist() == ["007"]


def test_rows_are_positions_whatever_the_index():
    data = pd.read_csv(BAD / "customers_bad_date.csv").set_axis(["x", "x", "y"])
    (p,) = validate(data, "customers")
    assert p.rows == (2, 3)
    good = pd.read_csv(GOOD / "outcomes_text_booleans.csv").set_axis([5, 5, 3, 1, 0])
    assert check(good, "outcomes")["retained"].tolist() == [True, False, True, False, False]


def test_utf8_byte_order_mark_is_not_part_of_the_first_column_name(tmp_path):
    path = tmp_path / "customers.csv"
    path.write_bytes((GOOD / "customers.csv").read_text(encoding="utf-8").encode("utf-8-sig"))
    assert read_table(path, "customers").columns[0] == "customer_id"


def test_timezone_aware_timestamps_are_accepted():
    events = pd.DataFrame({"customer_id": ["1", "1"], "framework": ["laer"] * 2, "stage": ["land", "adopt"],
                           "timestamp": ["2024-01-01T10:00:00+01:00", "2024-01-02T09:00:00Z"]})
    out = check(events, "events")
    assert out["timestamp"].tolist() == [pd.Timestamp("2024-01-01 09:00"), pd.Timestamp("2024-01-02 09:00")]


def test_stage_check_uses_categorical_codes_like_the_simulator_output():
    events = pd.read_csv(BAD / "events_unknown_stage.csv")
    for c in ("customer_id", "framework", "stage"):
        events[c] = events[c].astype("category")
    (p,) = validate(events, "events")
    assert (p.code, p.rows) == ("unknown_stage", (2,))


@pytest.mark.parametrize("suffix", [".parquet", ".xlsx"])
def test_parquet_and_excel_files_read_like_csv(tmp_path, suffix):
    frame = pd.read_csv(GOOD / "customers.csv", dtype={"customer_id": "str"})
    path = tmp_path / f"customers{suffix}"
    if suffix == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_excel(path, index=False)
    got = read_table(path, "customers")
    want = read_table(GOOD / "customers.csv", "customers")
    pd.testing.assert_frame_equal(got, want, check_dtype=False)


def test_missing_file_and_unknown_file_type_are_problems(tmp_path):
    with pytest.raises(ValidationError, match="file not found"):
        read_table(tmp_path / "nope.csv", "customers")
    odd = tmp_path / "customers.json"
    odd.write_text("{}", encoding="utf-8")
    with pytest.raises(ValidationError, match="unknown file type"):
        read_table(odd, "customers")


def test_read_table_without_kind_just_reads():
    hill = read_table("data/real/hillstrom/hillstrom.csv")
    assert hill.shape == (64_000, 12)


def test_file_fingerprint_matches_the_published_checksum():
    # reference: sha256 and size in the provenance notes (data/real/README.md)
    fp = file_fingerprint("data/real/hillstrom/hillstrom.csv")
    assert fp == {
        "sha256": "27bab8c5d3669f26ec08ebb50a0a78317542f29501156f2e2af6781fab4cd7e2",
        "rows": 64_000,
        "bytes": 3_900_976,
    }


def test_problem_str_names_table_column_rows_and_fix():
    p = Problem("survey", "nps", (3, 9), "outside 0-10 in 2 rows", "correct them", "out_of_range", 2)
    assert str(p) == "survey.nps: outside 0-10 in 2 rows [rows 3, 9]. Fix: correct them"


# ----------------------------------------------------------------------------- CLI


def test_cli_prints_problems_and_exits_2(capsys):
    code = cli.main(["validate", "customers", str(BAD / "customers_duplicate_ids.csv")])
    out = capsys.readouterr().out
    assert code == 2
    assert "customers.customer_id: duplicate ids in 2 rows" in out and "rows 2, 4" in out


def test_cli_reports_unparseable_file_and_exits_2(capsys):
    assert cli.main(["validate", "customers", str(BAD / "latin1.csv")]) == 2
    assert "not UTF-8" in capsys.readouterr().out


def test_cli_says_ok_and_exits_0(capsys):
    args = ["validate", "customers", str(GOOD / "customers.csv"), "--arms", *TOUCH_MODEL_NAMES]
    assert cli.main(args) == 0
    assert capsys.readouterr().out.startswith("OK: 4 rows")


def test_cli_options_reach_the_checks(capsys):
    path = str(BAD / "customers_future_date.csv")
    assert cli.main(["validate", "customers", path, "--today", "2100-01-01"]) == 0
    assert cli.main(["validate", "customers", path, "--arms", "high_touch", "low_touch", "no_touch",
                     "--today", "2100-01-01"]) == 0
    assert cli.main(["validate", "customers", path, "--arms", "email"]) == 2
    capsys.readouterr()


# ------------------------------------------------------------- simulated data


@pytest.fixture(scope="module")
def simulated():
    from engagement_kit.simulate import simulate

    return simulate(n_customers=3_000, seed=11, truth=False)


@pytest.mark.parametrize("kind", TABLE_KINDS)
def test_simulated_tables_pass_validation(simulated, kind):
    table = getattr(simulated, kind)
    assert validate(table, kind, arms=list(TOUCH_MODEL_NAMES)) == []


def test_simulated_files_pass_validation_when_read_back(simulated, tmp_path):
    simulated.write(tmp_path)
    for kind in TABLE_KINDS:
        table = read_table(tmp_path / f"{kind}.csv", kind, arms=list(TOUCH_MODEL_NAMES))
        assert len(table) == len(getattr(simulated, kind))


def test_cli_reads_a_semicolon_file_with_sep(tmp_path, capsys):
    from engagement_kit.cli import main

    path = tmp_path / "customers.csv"
    path.write_text("customer_id;segment;touch_model;signup_date\nC1;smb;no_touch;2024-01-01\n")
    assert main(["validate", "customers", str(path)]) == 2
    assert "--sep ';'" in capsys.readouterr().out
    assert main(["validate", "customers", str(path), "--sep", ";"]) == 0


# ------------------------------------------------------------------ bad numbers


@pytest.mark.parametrize(
    ("name", "kind", "phrase"),
    [
        ("outcomes_infinite.csv", "outcomes", "outcomes.revenue: infinite in 2 rows (inf, -inf) [rows 2, 4]"),
        ("outcomes_too_large.csv", "outcomes", "outcomes.revenue: larger in magnitude than 1e+100"),
        ("survey_likert_not_whole.csv", "survey", "survey.enthusiasm_3: not a whole-number answer in 1 row (4.5)"),
    ],
)
def test_cli_rejects_bad_numbers_with_exit_code_2(name, kind, phrase, capsys):
    assert cli.main(["validate", kind, str(BAD / name)]) == 2
    out = capsys.readouterr().out
    assert phrase in out and "Fix:" in out


def test_infinity_written_any_way_pandas_reads_it_is_one_problem_not_three(tmp_path):
    # 'Infinity', '+inf' and an overflowing literal are all read as inf; on a column with
    # a lower bound (-inf < 0) and on a count ('inf' is not whole) it is still one problem
    path = tmp_path / "outcomes.csv"
    path.write_text(
        "customer_id,retained,churn_time,churned,revenue,expansion_revenue,referrals\n"
        "C1,True,365,False,10,0,inf\n"
        "C2,True,Infinity,False,-inf,0,0\n"
        "C3,True,365,False,1e400,0,1\n",
        encoding="utf-8",
    )
    with pytest.raises(ValidationError) as err:
        read_table(path, "outcomes")
    got = {(p.column, p.code, p.rows) for p in err.value.problems}
    assert got == {
        ("referrals", "not_finite", (1,)),
        ("churn_time", "not_finite", (2,)),
        ("revenue", "not_finite", (2, 3)),
    }


def test_bound_keeps_sums_of_squares_finite():
    # n values at the bound: the squared sum (n x)^2 must stay finite for any realistic n
    n = 1e12
    assert np.isfinite((n * MAX_ABS_VALUE) ** 2)
    ok = pd.DataFrame({"x": [MAX_ABS_VALUE, -MAX_ABS_VALUE, 1.0]})
    check_finite(ok)  # the bound itself is allowed


def test_check_finite_names_table_column_rows_and_fix_for_a_foreign_table():
    ab = pd.DataFrame({"arm": ["a", "b", "a", "b"], "spend": [1.0, np.inf, 2.0, -1e200],
                       "visits": [1, 2, 3, 4], "label": ["x", "inf", "y", "z"]})
    with pytest.raises(ValidationError) as err:
        check_finite(ab, table="ab_test.csv")
    text = str(err.value)
    assert text.startswith("2 problems in ab_test.csv:")
    assert "ab_test.csv.spend: infinite in 1 row (inf) [row 2]. Fix:" in text
    assert "ab_test.csv.spend: larger in magnitude than 1e+100 in 1 row (found -1e+200) [row 4]" in text
    check_finite(ab, ["arm", "visits", "label", "not_a_column"])  # text, ints, absent: not checked here


def test_workbook_with_several_sheets_names_them_and_says_how_to_choose(tmp_path, capsys):
    frame = pd.read_csv(GOOD / "customers.csv", dtype={"customer_id": "str"})
    path = tmp_path / "export.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as book:
        pd.DataFrame({"note": ["exported 2024-06-30"]}).to_excel(book, sheet_name="About", index=False)
        frame.to_excel(book, sheet_name="Customers", index=False)
    with pytest.raises(ValidationError) as err:
        read_table(path, "customers")
    (p,) = err.value.problems
    assert p.code == "unreadable"
    assert "2 sheets ('About', 'Customers') and none was chosen" in p.message
    assert "sheet='About'" in p.fix and "--sheet" in p.fix
    with pytest.raises(ValidationError, match=r"no sheet 'customers'; its sheets are 'About', 'Customers'"):
        read_table(path, "customers", sheet="customers")
    got = read_table(path, "customers", sheet="Customers")
    pd.testing.assert_frame_equal(got, read_table(GOOD / "customers.csv", "customers"), check_dtype=False)
    assert len(read_table(path, sheet=1)) == len(frame)  # by number, from 0
    assert cli.main(["validate", "customers", str(path)]) == 2
    assert "none was chosen" in capsys.readouterr().out
    assert cli.main(["validate", "customers", str(path), "--sheet", "Customers"]) == 0
