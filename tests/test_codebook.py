"""Codebooks: CSV and YAML read into the same entries, strict validation naming file, row
and fix, the override of the dimensions parameters, drafting from a file's labels, and the
``engagement-kit codebook`` command (exit 2 on any problem)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyreadstat
import pytest

from engagement_kit.cli import main
from engagement_kit.codebook import (
    CodebookError,
    dimensions_parameters,
    draft_codebook,
    read_codebook,
    write_codebook,
)
from engagement_kit.io import load_analysis_table
from engagement_kit.survey_files import read_survey

CSV = """item,scale,reverse,question,min,max,labels
trust_1,trust,false,I trust the brand,1,5,1=Strongly disagree|2=Disagree|3=Neither agree nor disagree|4=Agree|5=Strongly agree
trust_2,trust,no,It keeps its promises,1,5,agree_5
trust_3,trust,TRUE,I doubt what it says,1,5,
use_1,use,0,I use it daily,1,5,
use_2,use,1,I rarely use it,1,5,
nps,,false,How likely are you to recommend us?,0,10,
"""

YAML = """# the same codebook in YAML
- {item: trust_1, scale: trust, reverse: false, question: I trust the brand, min: 1, max: 5,
   labels: {1: Strongly disagree, 2: Disagree, 3: Neither agree nor disagree, 4: Agree, 5: Strongly agree}}
- {item: trust_2, scale: trust, reverse: false, question: It keeps its promises, min: 1, max: 5, labels: agree_5}
- {item: trust_3, scale: trust, reverse: true, question: I doubt what it says, min: 1, max: 5}
- {item: use_1, scale: use, reverse: false, question: I use it daily, min: 1, max: 5}
- {item: use_2, scale: use, reverse: true, question: I rarely use it, min: 1, max: 5}
- {item: nps, scale: null, reverse: false, question: 'How likely are you to recommend us?', min: 0, max: 10}
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_csv_and_yaml_give_the_same_codebook(tmp_path):
    a = read_codebook(_write(tmp_path, "book.csv", CSV))
    b = read_codebook(_write(tmp_path, "book.yaml", YAML))
    assert a.items == b.items
    assert a.scales == {"trust": ["trust_1", "trust_2", "trust_3"], "use": ["use_1", "use_2"]}
    assert a.reverse_items == ["trust_3", "use_2"]
    assert a.entry("trust_2").labels == a.entry("trust_1").labels
    assert a.entry("nps").scale is None and (a.entry("nps").min, a.entry("nps").max) == (0.0, 10.0)


@pytest.mark.parametrize(
    ("text", "column", "row", "words"),
    [
        ("item,scale,reverse,question,min,max,colour\nq,s,false,Q,1,5,red\n", "colour", None, "unknown field"),
        ("item,scale,reverse,question,min,max,label\nq,s,false,Q,1,5,x\n", "label", None, "did you mean 'labels'"),
        ("item,scale,reverse,question,min\nq,s,false,Q,1\n", "max", None, "is missing"),
        ("item,scale,reverse,question,min,max\na,s,false,Q,1,5\nb,s,false,Q,1,5\na,s,false,Q,1,5\n", "item", 3,
         "listed twice"),
        ("item,scale,reverse,question,min,max\na,s,maybe,Q,1,5\nb,s,false,Q,1,5\n", "reverse", 1, "not true or false"),
        ("item,scale,reverse,question,min,max\na,s,false,Q,5,1\nb,s,false,Q,1,5\n", "min", 1, "is empty"),
        ("item,scale,reverse,question,min,max\na,s,false,Q,one,5\nb,s,false,Q,1,5\n", "min", 1, "not a finite number"),
        ("item,scale,reverse,question,min,max\na,s,false,Q,1,inf\nb,s,false,Q,1,5\n", "max", 1, "not a finite number"),
        ("item,scale,reverse,question,min,max\na,s,true,Q,,\nb,s,false,Q,1,5\n", "reverse", 1, "no min and max"),
        ("item,scale,reverse,question,min,max,labels\na,s,false,Q,1,5,0=None|1=Some\nb,s,false,Q,1,5,\n", "labels", 1,
         "outside the range"),
        ("item,scale,reverse,question,min,max,labels\na,s,false,Q,1,5,Agree|Disagree\nb,s,false,Q,1,5,\n", "labels", 1,
         "has no code"),
        ("item,scale,reverse,question,min,max,labels\na,s,false,Q,1,5,1=Agree|2=agree\nb,s,false,Q,1,5,\n", "labels",
         1, "share a label"),
        ("item,scale,reverse,question,min,max\na,s,false,Q,1,5\nb,t,false,Q,1,5\nc,t,false,Q,1,5\n", "scale", 1,
         "has one item"),
        ("item,scale,reverse,question,min,max\n,s,false,Q,1,5\n", "item", 1, "is blank"),
    ],
)
def test_bad_codebooks_name_file_row_and_fix(tmp_path, text, column, row, words):
    path = _write(tmp_path, "book.csv", text)
    with pytest.raises(CodebookError) as err:
        read_codebook(path)
    hits = [p for p in err.value.problems if p.column == column and words in p.message]
    assert hits, [str(p) for p in err.value.problems]
    assert hits[0].rows == ((row,) if row else ())
    assert hits[0].fix
    assert str(path) in str(err.value)


def test_yaml_is_never_executed_and_must_be_a_list(tmp_path):
    hostile = _write(tmp_path, "evil.yaml", "- !!python/object/apply:os.system ['touch pwned']\n")
    with pytest.raises(CodebookError, match="not valid YAML"):
        read_codebook(hostile)
    assert not (tmp_path / "pwned").exists()
    with pytest.raises(CodebookError, match="not a list of entries"):
        read_codebook(_write(tmp_path, "map.yaml", "trust_1: trust\n"))
    with pytest.raises(CodebookError, match="must be text"):
        read_codebook(_write(tmp_path, "nested.yaml", "- {item: [a, b], scale: s, reverse: false, question: q, "
                                                      "min: 1, max: 5}\n"))


def test_items_missing_from_the_survey_are_named_with_the_closest_column(tmp_path):
    path = _write(tmp_path, "book.csv", CSV)
    with pytest.raises(CodebookError) as err:
        read_codebook(path, columns=["trust_1", "trust_2", "trust_3", "use_01", "use_2", "nps"])
    [problem] = err.value.problems
    assert problem.rows == (4,) and "'use_1'" in problem.message and "'use_01'" in problem.message
    survey = tmp_path / "survey.csv"
    pd.DataFrame({"trust_1": [1], "trust_2": [2], "trust_3": [3]}).to_csv(survey, index=False)
    with pytest.raises(CodebookError, match="is not a column of"):
        load_analysis_table(survey, base="survey", codebook=path)


def test_codebook_replaces_the_dimensions_parameters(tmp_path):
    book = read_codebook(_write(tmp_path, "book.csv", CSV))
    given = {"scales": {"x": ["a", "b"]}, "reverse_items": ["a"], "likert_min": 1, "likert_max": 7}
    assert dimensions_parameters(None, **given) == given
    assert dimensions_parameters(book, **given) == {
        "scales": {"trust": ["trust_1", "trust_2", "trust_3"], "use": ["use_1", "use_2"]},
        "reverse_items": ["trust_3", "use_2"], "likert_min": 1.0, "likert_max": 5.0}
    mixed = read_codebook(_write(tmp_path, "mixed.csv", CSV.replace("use_2,use,1,I rarely use it,1,5",
                                                                    "use_2,use,1,I rarely use it,1,7")))
    with pytest.raises(CodebookError, match="answer ranges") as err:
        dimensions_parameters(mixed, **given)
    assert err.value.problems[0].rows == (5,)


def test_codebook_scales_give_the_same_dimensions_result_as_the_parameters(tmp_path):
    from survey_helpers import SCALES, three_factor_survey

    from engagement_kit.measurement import dimensions

    survey, _ = three_factor_survey(300, seed=4)
    rows = [f"{i},{s},false,,1,5" for s, items in SCALES.items() for i in items]
    book = read_codebook(_write(tmp_path, "book.csv", "item,scale,reverse,question,min,max\n" + "\n".join(rows)))
    a = dimensions(survey, **dimensions_parameters(book, scales=None, reverse_items=None, likert_min=1, likert_max=7))
    b = dimensions(survey, scales=SCALES, reverse_items=[], likert_min=1, likert_max=5)
    pd.testing.assert_frame_equal(a.tables()["reliability"], b.tables()["reliability"])


def _labelled_sav(path: Path) -> Path:
    labels = {1.0: "Never", 2.0: "Rarely", 3.0: "Sometimes", 4.0: "Often", 5.0: "Always"}
    df = pd.DataFrame({"Q5_1": [1.0, 3, 5], "Q5_2": [2.0, 2, 4], "Q7": [1.0, 5, 3], "segment": ["a", "b", "a"]})
    pyreadstat.write_sav(df, str(path), column_labels={"Q5_1": "Use - at work", "Q5_2": "Use - at home",
                                                        "Q7": "Overall"},
                         variable_value_labels={"Q5_1": labels, "Q5_2": labels, "Q7": labels})
    return path


def test_draft_groups_items_by_prefix_and_reads_back(tmp_path):
    data = read_survey(_labelled_sav(tmp_path / "s.sav"))
    book = draft_codebook(data)
    assert [(e.item, e.scale, e.question, e.min, e.max) for e in book.items] == [
        ("Q5_1", "Q5", "Use - at work", 1.0, 5.0), ("Q5_2", "Q5", "Use - at home", 1.0, 5.0),
        ("Q7", None, "Overall", 1.0, 5.0)]
    for name in ("draft.csv", "draft.yaml"):
        back = read_codebook(write_codebook(book, tmp_path / name), columns=list(data.columns))
        assert [(e.item, e.scale, e.reverse, e.question, e.min, e.max, e.labels) for e in back.items] == [
            (e.item, e.scale, e.reverse, e.question, e.min, e.max, e.labels) for e in book.items]


def test_codebook_command_drafts_and_exits_2_on_problems(tmp_path, capsys):
    sav = _labelled_sav(tmp_path / "s.sav")
    out = tmp_path / "book.yaml"
    assert main(["codebook", str(sav), "--out", str(out)]) == 0
    assert read_codebook(out).scales == {"Q5": ["Q5_1", "Q5_2"]}
    assert main(["codebook", str(sav), "--out", str(out)]) == 2  # exists
    assert "--force" in capsys.readouterr().err
    assert main(["codebook", str(sav), "--out", str(out), "--force"]) == 0
    assert main(["codebook", str(sav)]) == 0
    assert capsys.readouterr().out.startswith("item,scale,reverse,question,min,max,labels\n")
    assert main(["codebook", str(tmp_path / "absent.sav")]) == 2
    assert main(["codebook", str(sav), "--likert", "agree_9"]) == 2
    bad = tmp_path / "bad.csv"
    bad.write_text('a,b\nx,y\n{"ImportId":"QID1"},{"ImportId":"QID2"}\nSomewhat agree,Agree\nAgree,Totally agree\n')
    assert main(["codebook", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "'Totally agree'" in err and "codebook" in err


def test_report_batch_checks_the_codebook_before_any_kernel(tmp_path, capsys):
    sav = _labelled_sav(tmp_path / "s.sav")
    book = _write(tmp_path, "book.csv", "item,scale,reverse,question,min,max\nQ5_1,use,false,,1,5\nQ5_9,use,false,,1,5\n")
    code = main(["report", "--notebook", "notebooks/engagement_dimensions.ipynb", "-p", f"data_path={sav}",
                 "-p", f"codebook={book}", "--output-root", str(tmp_path / "reports")])
    assert code == 2
    err = capsys.readouterr().err
    assert "parameter 'codebook'" in err and "'Q5_9'" in err and "'Q5_1'" in err and "[row 2]" in err
    assert not (tmp_path / "reports").exists() or not any((tmp_path / "reports").rglob("*.ipynb"))
