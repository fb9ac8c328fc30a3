"""Reading survey files: Qualtrics CSV/TSV exports (three header rows, choice text and
numeric values), SPSS/Stata/SAS files through pyreadstat, Likert text mapped by declared
scales, and the demo exports.

Fixtures are written here: the Qualtrics files as literal text in the shape Qualtrics
documents ("Understanding your dataset": row 1 variable names, row 2 question text, row 3
``{"ImportId":...}``), the statistics-package files with pyreadstat's writers. The
expected numbers are typed by hand from the answers, not computed by the reader.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest
from scipy import stats

from engagement_kit.codebook import read_codebook
from engagement_kit.io import load_analysis_table
from engagement_kit.markdown import escape
from engagement_kit.reports.config import table_header
from engagement_kit.survey_files import (
    DEMO_SKIP_BY_SEGMENT,
    LIKERT_SCALES,
    demo_export_table,
    is_qualtrics_export,
    likert_codes,
    read_survey,
    survey_metadata,
    write_demo_exports,
    write_qualtrics_csv,
)
from engagement_kit.validation import ValidationError

HEADER = (
    'StartDate,EndDate,Status,IPAddress,Progress,Duration (in seconds),Finished,RecordedDate,ResponseId,'
    'RecipientEmail,LocationLatitude,Q_RecaptchaScore,customer_id,Q1_1,Q1_2,Q1_3,Q2,segment\n'
    'Start Date,End Date,Response Type,IP Address,Progress,Duration (in seconds),Finished,Recorded Date,'
    'Response ID,Recipient Email,Location Latitude,Q_RecaptchaScore,customer_id,'
    '"How much do you agree? - I trust the brand, mostly",How much do you agree? - I would recommend it,'
    'How much do you agree? - <script>alert(1)</script>,How often do you use it?,segment\n'
    + ",".join('"' + json.dumps(i, separators=(",", ":")).replace('"', '""') + '"' for i in [  # quoted, as exported
        {"ImportId": "startDate", "timeZone": "America/Denver"}, {"ImportId": "endDate", "timeZone": "America/Denver"},
        {"ImportId": "status"}, {"ImportId": "ipAddress"}, {"ImportId": "progress"}, {"ImportId": "duration"},
        {"ImportId": "finished"}, {"ImportId": "recordedDate", "timeZone": "America/Denver"},
        {"ImportId": "_recordId"}, {"ImportId": "recipientEmail"}, {"ImportId": "locationLatitude"},
        {"ImportId": "Q_RecaptchaScore"}, {"ImportId": "customer_id"}, {"ImportId": "QID1_1"},
        {"ImportId": "QID1_2"}, {"ImportId": "QID1_3"}, {"ImportId": "QID2"}, {"ImportId": "segment"}])
    + "\n"
)
META = ("2024-06-01 10:00:00,2024-06-01 10:05:00,IP Address,203.0.113.{k},100,300,True,2024-06-01 10:05:00,"
        "R_abc{k},person{k}@example.com,39.7,0.9")
CHOICE_ROWS = [
    ("C1", "Strongly agree", "Agree", "Somewhat disagree", "Often", "smb"),
    ("C2", "strongly  DISAGREE ", "", "Neither agree nor disagree", "Never", "enterprise"),
    ("C3", "Somewhat agree", "Disagree", "Agree", "", "smb"),
]
NUMERIC_ROWS = [
    ("C1", "7", "6", "3", "4", "smb"),
    ("C2", "1", "-99", "4", "1", "enterprise"),
    ("C3", "5", "2", "6", "", "smb"),
]
EXPECTED = {  # agree_7: 1 Strongly disagree .. 7 Strongly agree; frequency_5: 1 Never .. 5 Always
    "Q1_1": [7.0, 1.0, 5.0],
    "Q1_2": [6.0, np.nan, 2.0],
    "Q1_3": [3.0, 4.0, 6.0],
    "Q2": [4.0, 1.0, np.nan],
}


def _qualtrics(path: Path, rows, header: str = HEADER) -> Path:
    body = "".join(META.format(k=k) + "," + ",".join(r) + "\n" for k, r in enumerate(rows, start=1))
    path.write_text(header + body, encoding="utf-8-sig")
    return path


def _assert_expected(df: pd.DataFrame) -> None:
    for col, values in EXPECTED.items():
        np.testing.assert_array_equal(df[col].to_numpy(float), np.array(values), err_msg=col)


# --------------------------------------------------------------------------- Qualtrics


def test_choice_text_export_maps_labels_and_keeps_question_text_as_metadata(tmp_path):
    df = read_survey(_qualtrics(tmp_path / "choice.csv", CHOICE_ROWS))
    assert list(df.columns) == ["customer_id", "Q1_1", "Q1_2", "Q1_3", "Q2", "segment"]
    _assert_expected(df)
    assert df["customer_id"].tolist() == ["C1", "C2", "C3"]
    meta = survey_metadata(df)
    assert meta.format == "qualtrics"
    assert meta.questions["Q1_1"] == "How much do you agree? - I trust the brand, mostly"
    assert meta.import_ids["Q1_3"] == "QID1_3"
    assert meta.likert == {"Q1_1": "agree_7", "Q1_2": "agree_7", "Q1_3": "agree_7", "Q2": "frequency_5"}
    assert meta.value_labels["Q2"] == {1.0: "Never", 2.0: "Rarely", 3.0: "Sometimes", 4.0: "Often", 5.0: "Always"}


def test_qualtrics_metadata_columns_are_dropped_and_never_reach_the_table(tmp_path):
    path = _qualtrics(tmp_path / "choice.csv", CHOICE_ROWS)
    df = read_survey(path)
    dropped = survey_metadata(df).dropped
    assert set(dropped) == {"StartDate", "EndDate", "Status", "IPAddress", "Progress", "Duration (in seconds)",
                            "Finished", "RecordedDate", "ResponseId", "RecipientEmail", "LocationLatitude",
                            "Q_RecaptchaScore"}
    text = df.to_csv()
    for secret in ("203.0.113", "example.com", "R_abc"):
        assert secret not in text
    assert "IPAddress" not in load_analysis_table(path, base="survey").columns


def test_numeric_export_gives_the_same_numbers_and_seen_but_unanswered_is_missing(tmp_path):
    numeric = read_survey(_qualtrics(tmp_path / "numeric.csv", NUMERIC_ROWS))
    _assert_expected(numeric)
    assert survey_metadata(numeric).unanswered == {"Q1_2": 1}
    choice = read_survey(_qualtrics(tmp_path / "choice.csv", CHOICE_ROWS))
    pd.testing.assert_frame_equal(numeric[list(EXPECTED)], choice[list(EXPECTED)])


def test_utf16_tab_separated_export_is_read(tmp_path):
    text = _qualtrics(tmp_path / "x.csv", CHOICE_ROWS).read_text(encoding="utf-8-sig")
    import csv
    import io

    records = list(csv.reader(io.StringIO(text)))
    buf = io.StringIO()
    csv.writer(buf, delimiter="\t").writerows(records)
    path = tmp_path / "export.tsv"
    path.write_text(buf.getvalue(), encoding="utf-16")
    assert is_qualtrics_export(path)
    df = read_survey(path)
    _assert_expected(df)


def test_unmapped_label_names_item_label_rows_and_fix(tmp_path):
    rows = [*CHOICE_ROWS, ("C4", "Agree", "Totally agree", "Agree", "Often", "smb"),
            ("C5", "Agree", "Totally agree", "Agree", "Often", "smb")]
    path = _qualtrics(tmp_path / "bad.csv", rows)
    with pytest.raises(ValidationError) as err:
        read_survey(path)
    [problem] = err.value.problems
    assert problem.column == "Q1_2" and problem.code == "unknown_label"
    assert "'Totally agree'" in problem.message and "agree_7" in problem.message
    assert problem.rows == (6, 7)  # rows 4 and 5 of data = lines 7 and 8 (row N is line N + 1)
    assert "codebook" in problem.fix and "labels" in problem.fix
    assert str(path) in str(err.value)


def test_ambiguous_five_or_seven_points_is_an_error_until_declared():
    answers = pd.DataFrame({"trust": ["Agree", "Strongly agree", "Disagree"]})
    with pytest.raises(ValidationError, match="fit several shipped scales"):
        likert_codes(answers)
    assert likert_codes(answers, likert="agree_5")["trust"].tolist() == [4.0, 5.0, 2.0]
    assert likert_codes(answers, likert={"trust": "agree_7"})["trust"].tolist() == [6.0, 7.0, 2.0]
    assert likert_codes(answers, likert={"trust": ["No", "Disagree", "Agree", "Strongly agree"]})[
        "trust"].tolist() == [3.0, 4.0, 2.0]
    # a sibling item of the same question settles it: trust_2 has a 7-point-only answer
    both = pd.DataFrame({"trust_1": ["Agree", "Disagree"], "trust_2": ["Somewhat agree", "Agree"]})
    assert likert_codes(both).attrs["likert"] == {"trust_1": "agree_7", "trust_2": "agree_7"}


def test_codebook_labels_and_range_declare_the_scale(tmp_path):
    book = tmp_path / "book.csv"
    book.write_text("item,scale,reverse,question,min,max,labels\n"
                    "trust,,false,Trust,1,5,\n"
                    "use,,false,Use,1,3,1=Seldom|2=Sometimes|3=All the time\n")
    answers = pd.DataFrame({"trust": ["Agree", "Strongly agree"], "use": ["all the time", "Seldom"]})
    coded = likert_codes(answers, codebook=read_codebook(book))
    assert coded.to_dict("list") == {"trust": [4.0, 5.0], "use": [3.0, 1.0]}


def test_text_columns_that_are_not_answers_stay_text():
    df = pd.DataFrame({"arm": ["high_touch", "no_touch"], "comment": ["great", "meh"], "q": ["Never", "Always"]})
    out = likert_codes(df)
    assert out["arm"].tolist() == ["high_touch", "no_touch"] and out["comment"].tolist() == ["great", "meh"]
    assert out["q"].tolist() == [1.0, 5.0]


def test_every_shipped_scale_is_ordered_and_distinct():
    for name, labels in LIKERT_SCALES.items():
        assert len(labels) in (5, 7), name
        assert len({lab.casefold() for lab in labels}) == len(labels), name
        coded = likert_codes(pd.DataFrame({"q": list(labels)}), likert=name)["q"].tolist()
        assert coded == [float(k) for k in range(1, len(labels) + 1)]


# --------------------------------------------------------------------------- SPSS, Stata, SAS


def _labelled_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "resp": ["R1", "R2", "R3", "R4"],
        "sat_1": [1.0, 5.0, 99.0, 4.0],   # 99 = "Don't know", declared missing in SPSS
        "sat_2": [2.0, np.nan, 3.0, 5.0],
        "segment": ["smb", "smb", "enterprise", "mid_market"],
    })  # fmt: skip


LABELS = {c: {1.0: "Strongly disagree", 2.0: "Disagree", 3.0: "Neither agree nor disagree", 4.0: "Agree",
              5.0: "Strongly agree"} for c in ("sat_1", "sat_2")}  # fmt: skip
QUESTIONS = {"sat_1": "I am satisfied with the service", "sat_2": "It meets my needs", "resp": "Respondent"}


def test_spss_file_keeps_codes_value_labels_question_text_and_user_missing(tmp_path):
    path = tmp_path / "survey.sav"
    pyreadstat.write_sav(_labelled_frame(), str(path), column_labels=QUESTIONS,
                         variable_value_labels={**LABELS, "sat_1": {**LABELS["sat_1"], 99.0: "Don't know"}},
                         missing_ranges={"sat_1": [99]})
    df = read_survey(path)
    assert df["sat_1"].tolist()[:2] == [1.0, 5.0] and np.isnan(df["sat_1"].iloc[2])
    assert df["sat_2"].iloc[3] == 5.0 and np.isnan(df["sat_2"].iloc[1])
    meta = survey_metadata(df)
    assert meta.format == "spss"
    assert meta.questions["sat_2"] == "It meets my needs"
    assert meta.value_labels["sat_2"][4.0] == "Agree"
    assert df["segment"].tolist() == ["smb", "smb", "enterprise", "mid_market"]
    assert table_header(path) == ["resp", "sat_1", "sat_2", "segment"]  # the batch's column check sees it


def test_stata_and_sas_transport_files_are_read(tmp_path):
    frame = _labelled_frame()
    dta = tmp_path / "survey.dta"
    pyreadstat.write_dta(frame, str(dta), column_labels=QUESTIONS, variable_value_labels=LABELS)
    df = read_survey(dta)
    np.testing.assert_array_equal(df["sat_2"].to_numpy(float), frame["sat_2"].to_numpy(float))
    assert survey_metadata(df).format == "stata"
    assert survey_metadata(df).value_labels["sat_1"][5.0] == "Strongly agree"
    assert survey_metadata(df).questions["sat_1"] == QUESTIONS["sat_1"]
    xpt = tmp_path / "survey.xpt"
    pyreadstat.write_xport(frame, str(xpt), column_labels=QUESTIONS)
    df = read_survey(xpt)
    np.testing.assert_array_equal(df["sat_1"].to_numpy(float), frame["sat_1"].to_numpy(float))
    assert survey_metadata(df).format == "sas"


def test_text_answers_in_a_spss_file_are_mapped_too(tmp_path):
    path = tmp_path / "text.sav"
    pyreadstat.write_sav(pd.DataFrame({"q_1": ["Often", "Never"], "q_2": ["Always", "Rarely"]}), str(path))
    assert read_survey(path).to_dict("list") == {"q_1": [4.0, 1.0], "q_2": [5.0, 2.0]}


def test_unreadable_and_unknown_files_are_clear_errors(tmp_path):
    bad = tmp_path / "broken.sav"
    bad.write_bytes(b"not an spss file at all")
    with pytest.raises(ValidationError, match="not a readable SPSS file"):
        read_survey(bad)
    odd = tmp_path / "survey.json"
    odd.write_text("{}")
    with pytest.raises(ValidationError, match="unknown survey file type"):
        read_survey(odd)
    with pytest.raises(FileNotFoundError):
        read_survey(tmp_path / "absent.sav")


def test_hostile_labels_are_read_as_plain_text_and_escaped_for_markdown(tmp_path):
    df = read_survey(_qualtrics(tmp_path / "choice.csv", CHOICE_ROWS))
    question = survey_metadata(df).items_table().set_index("column").loc["Q1_3", "question"]
    assert question.endswith("<script>alert(1)</script>")
    assert "<script>" not in escape(question)


# --------------------------------------------------------------------------- demo exports


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from engagement_kit.simulate import simulate

    sim = simulate(n_customers=3000, seed=5, frameworks=[], include_types=False)
    out = tmp_path_factory.mktemp("demo")
    return sim, out, write_demo_exports(sim, out, seed=5, missing_rate=0.12)


def test_both_demo_exports_read_back_to_the_same_table(demo):
    sim, out, paths = demo
    assert [p.name for p in paths] == ["survey_qualtrics.csv", "survey.sav", "survey_codebook.yaml"]
    table, questions = demo_export_table(sim, seed=5, missing_rate=0.12)
    qualtrics = read_survey(out / "survey_qualtrics.csv", codebook=out / "survey_codebook.yaml")
    spss = read_survey(out / "survey.sav")
    for df in (qualtrics, spss):
        assert list(df.columns) == list(table.columns)
        for col in table.columns:
            expected = table[col]
            if pd.api.types.is_numeric_dtype(expected):
                np.testing.assert_array_equal(df[col].to_numpy(float), expected.to_numpy(float), err_msg=col)
            else:
                assert df[col].astype(str).tolist() == expected.astype(str).tolist(), col
    assert survey_metadata(spss).questions == {c: q for c, q in questions.items() if c in spss.columns}
    assert survey_metadata(qualtrics).likert["csat"] == "satisfaction_5"
    assert "IPAddress" in survey_metadata(qualtrics).dropped
    assert is_qualtrics_export(out / "survey_qualtrics.csv")


def test_demo_missing_answers_have_the_declared_rate_and_depend_on_segment(demo):
    """12 % of the item answers blank overall (95 % binomial interval around the observed
    share must hold it), more often in smb than in enterprise (missing at random given
    segment, ratio 1.3 / 0.6 as declared)."""
    sim, out, _ = demo
    df = read_survey(out / "survey.sav")
    items = [c for c in df.columns if c.rsplit("_", 1)[-1].isdigit()]
    miss = df[items].isna()
    n = miss.size
    share = miss.to_numpy().mean()
    half = stats.norm.ppf(0.975) * np.sqrt(0.12 * 0.88 / n)
    assert abs(share - 0.12) < half * 1.5  # rows share a rate: a little wider than binomial
    by_segment = miss.mean(axis=1).groupby(df["segment"]).mean()
    ratio = by_segment["smb"] / by_segment["enterprise"]
    want = DEMO_SKIP_BY_SEGMENT["smb"] / DEMO_SKIP_BY_SEGMENT["enterprise"]
    assert 0.8 * want < ratio < 1.25 * want, by_segment.to_dict()
    # the answers that are there are the simulator's
    kept = df.set_index("customer_id")[items]
    truth = sim.survey.set_index("customer_id").loc[kept.index, items].astype(float)
    assert ((kept == truth) | kept.isna()).all().all()


def test_simulate_command_writes_the_exports(tmp_path):
    from engagement_kit.cli import main

    assert main(["simulate", "--customers", "300", "--seed", "2", "--out", str(tmp_path)]) == 0
    for name in ("survey_qualtrics.csv", "survey.sav", "survey_codebook.yaml"):
        assert (tmp_path / name).is_file()
    book = read_codebook(tmp_path / "survey_codebook.yaml")
    assert book.reverse_items == [f"{d}_4" for d in ("enthusiasm", "attention", "absorption", "interaction",
                                                     "identification")]


def test_declared_labels_become_the_value_labels(tmp_path):
    path = tmp_path / "plain.csv"
    path.write_text("q_1,q_2\nNo,Yes\nYes,Maybe\n")
    df = read_survey(path, likert={"q_1": ["No", "Maybe", "Yes"], "q_2": {"No": 0, "Maybe": 1, "Yes": 2}})
    assert df.to_dict("list") == {"q_1": [1.0, 3.0], "q_2": [2.0, 1.0]}
    meta = survey_metadata(df)
    assert meta.value_labels == {"q_1": {1.0: "No", 2.0: "Maybe", 3.0: "Yes"}, "q_2": {0.0: "No", 1.0: "Maybe", 2.0: "Yes"}}
    assert meta.likert == {"q_1": "declared", "q_2": "declared"} and meta.format == "csv"


def test_qualtrics_default_satisfaction_wording_is_read_as_satisfaction_5():
    answers = pd.DataFrame({"csat": ["Extremely satisfied", "Somewhat dissatisfied",
                                     "Neither satisfied nor dissatisfied", "Extremely dissatisfied"]})
    out = likert_codes(answers)
    assert out["csat"].tolist() == [5.0, 2.0, 3.0, 1.0] and out.attrs["likert"] == {"csat": "satisfaction_5"}


def test_five_point_somewhat_wording_is_never_silently_read_as_seven_points():
    """Qualtrics' 5-point agreement labels are a subset of the 7-point ones: coding
    "Somewhat agree" as 5 of 7 instead of 4 of 5 would shift every answer."""
    five = pd.DataFrame({"q": ["Somewhat agree", "Strongly agree", "Somewhat disagree"]})
    with pytest.raises(ValidationError, match="agree_5_somewhat, agree_7"):
        likert_codes(five)
    assert likert_codes(five, likert="agree_5_somewhat")["q"].tolist() == [4.0, 5.0, 2.0]
    seven = pd.DataFrame({"q": ["Somewhat agree", "Agree"]})
    assert likert_codes(seven)["q"].tolist() == [5.0, 6.0]


def _qualtrics_by_pandas(export, questions, import_ids, choice_text, path):
    """The reference: pandas' to_csv of the export, as write_qualtrics_csv wrote it before the
    columnar writer (labels looked up answer by answer)."""
    out = export.copy()
    for col, scale in choice_text.items():
        labels = dict(enumerate(LIKERT_SCALES[scale], start=1))
        out[col] = out[col].map(lambda v, labels=labels: labels[int(v)] if pd.notna(v) else None).astype(object)
    for c in out.columns:
        if pd.api.types.is_float_dtype(out[c]) and out[c].dropna().apply(float.is_integer).all():
            out[c] = out[c].astype("Int64")
    header = pd.DataFrame([[questions.get(c, c) for c in out.columns],
                           [json.dumps({"ImportId": import_ids.get(c, c)}, separators=(",", ":")) for c in out.columns]],
                          columns=out.columns)  # fmt: skip
    pd.concat([header, out.astype(object)], ignore_index=True).to_csv(path, index=False, encoding="utf-8-sig")
    return path.read_bytes()


@pytest.mark.parametrize("quoted", [False, True])
def test_qualtrics_writer_gives_the_bytes_pandas_gives(tmp_path, quoted):
    """Vectorised labels + the columnar writer (pyarrow, or DuckDB when a text needs quotes)
    write the same file as pandas did: BOM, the three header rows with quoted question
    texts, blank missing answers, whole floats as integers, other floats as repr."""
    rng = np.random.default_rng(3)
    n = 500
    items = rng.integers(1, 8, n).astype(float)
    items[rng.random(n) < 0.2] = np.nan
    export = pd.DataFrame({
        "ResponseId": [f"R_{k:015x}" for k in rng.integers(0, 2**60, n)],
        "q_1": items, "csat": rng.integers(1, 6, n), "retained": (rng.random(n) < 0.5).astype(float),
        "score": np.round(rng.normal(size=n) * 100, 2), "flag": rng.random(n) < 0.5,
        "segment": np.where(rng.random(n) < 0.5, "smb, small" if quoted else "smb", "enterprise"),
    })  # fmt: skip
    questions = {"q_1": 'Agree, or "not"?', "csat": "Overall satisfaction"}
    ids = {"q_1": "QID1_1", "csat": "QID2"}
    choice = {"q_1": "agree_7", "csat": "satisfaction_5"}
    ref = _qualtrics_by_pandas(export, questions, ids, choice, tmp_path / "reference.csv")
    path = write_qualtrics_csv(export, tmp_path / "q.csv", questions=questions, import_ids=ids, choice_text=choice)
    assert path.read_bytes() == ref
    assert sorted(p.name for p in tmp_path.iterdir()) == ["q.csv", "reference.csv"]  # no temporary files left


def test_qualtrics_writer_rejects_codes_outside_the_scale(tmp_path):
    with pytest.raises(ValueError, match=r"'q_1'.*\[9\.0\].*rows \[2\]"):
        write_qualtrics_csv(pd.DataFrame({"q_1": [1.0, 9.0]}), tmp_path / "q.csv", choice_text={"q_1": "agree_7"})


IRIS = Path(__file__).parent / "data" / "sas" / "iris.sas7bdat"  # a real SAS file: tests/data/sas/README.md
IRIS_COLUMNS = ["Sepal_Length", "Sepal_Width", "Petal_Length", "Petal_Width", "Species"]


def test_a_real_sas7bdat_file_reads_as_pandas_and_r_read_it():
    """haven's iris.sas7bdat (written by SAS) read by our reader: the same table as pandas'
    own SAS reader gives, and R's datasets::iris as R prints it (head(iris); summary(iris)
    means to 3 decimals: 5.843, 3.057, 3.758, 1.199; 50 of each species)."""
    df = read_survey(IRIS)
    assert list(df.columns) == IRIS_COLUMNS and len(df) == 150
    theirs = pd.read_sas(IRIS, encoding="cp1252")
    numbers = IRIS_COLUMNS[:4]
    pd.testing.assert_frame_equal(df[numbers], theirs[numbers])
    assert df["Species"].tolist() == theirs["Species"].tolist()
    assert df.iloc[0].tolist() == [5.1, 3.5, 1.4, 0.2, "setosa"]
    assert df[numbers].mean().round(3).tolist() == [5.843, 3.057, 3.758, 1.199]
    # the file stores Species as 6-character text (format $6): "versic", as pandas reads it too
    assert df["Species"].value_counts().to_dict() == {"setosa": 50, "versic": 50, "virgin": 50}
    meta = survey_metadata(df)
    assert (meta.format, meta.source, meta.questions, meta.value_labels) == ("sas", str(IRIS), {}, {})
    assert table_header(IRIS) == IRIS_COLUMNS  # the batch's column check reads the same names
    assert load_analysis_table(IRIS, base="survey")[numbers].equals(df[numbers])


def test_sas_transport_round_trip_keeps_values_text_and_question_text(tmp_path):
    """The iris table written by pyreadstat as SAS transport (.xpt) reads back unchanged,
    with the variable labels as question text; pandas' own XPORT reader agrees on a version 5 file."""
    frame = read_survey(IRIS)
    labels = {"Sepal_Length": "Sepal length (cm)", "Species": "Iris species"}
    xpt = tmp_path / "iris.xpt"
    pyreadstat.write_xport(frame, str(xpt), column_labels=labels, table_name="IRIS")
    back = read_survey(xpt)
    pd.testing.assert_frame_equal(back, frame, check_dtype=False)
    assert survey_metadata(back).format == "sas" and survey_metadata(back).questions == labels
    # pandas reads only version 5 transport files (names of at most 8 characters)
    short = frame.set_axis(["SL", "SW", "PL", "PW", "SPECIES"], axis=1)
    v5 = tmp_path / "iris_v5.xpt"
    pyreadstat.write_xport(short, str(v5), file_format_version=5, table_name="IRIS")
    ours = read_survey(v5)
    theirs = pd.read_sas(v5, format="xport", encoding="utf-8")
    pd.testing.assert_frame_equal(ours[["SL", "SW", "PL", "PW"]], theirs[["SL", "SW", "PL", "PW"]])
    assert ours["SPECIES"].tolist() == theirs["SPECIES"].tolist() == frame["Species"].tolist()
    pd.testing.assert_frame_equal(ours, short, check_dtype=False)
