"""The `language` parameter through the batch and the workshop: checked before any kernel
starts (exit 2 naming the run and the choices), headings swapped by cell id, conclusions and
labels in the language, the default batch's Italian and Chinese runs, `workshop --language`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from engagement_kit import cli, workshop
from engagement_kit.i18n import translate
from engagement_kit.reports.config import ConfigError, RunSpec, check_runs, load_config

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo" / "customers.csv"


def test_an_unknown_language_stops_the_batch_naming_the_run_and_the_choices():
    run = RunSpec(name="hello_fr", notebook="notebooks/hello_report.ipynb", parameters={"language": "fr"}, root=ROOT)
    with pytest.raises(ConfigError) as err:
        check_runs([run])
    text = "\n".join(err.value.problems)
    assert "run 'hello_fr'" in text and "'fr'" in text and "en, it, es, zh, ru" in text


def test_a_language_that_is_not_text_is_refused():
    run = RunSpec(name="hello_n", notebook="notebooks/hello_report.ipynb", parameters={"language": 3}, root=ROOT)
    with pytest.raises(ConfigError, match="language"):
        check_runs([run])


def test_cli_language_option_exits_2_before_any_kernel(tmp_path, capsys):
    code = cli.main(["report", "--only", "overview_demo", "--language", "fr", "--output-root", str(tmp_path)])
    assert code == 2
    assert "en, it, es, zh, ru" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())  # nothing was executed or written


def test_every_notebook_has_a_language_parameter_defaulting_to_english():
    from engagement_kit.reports.params import load_notebook, parameters_of

    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        params = {p.name: p for p in parameters_of(load_notebook(path))}
        assert params["language"].default == "en", path.name
        assert "en, it, es, zh or ru" in params["language"].comment


def test_default_batch_has_an_italian_and_a_chinese_run():
    runs = load_config(ROOT / "reports.yaml")
    languages = {r.name: r.parameters.get("language", "en") for r in runs}
    assert "it" in languages.values() and "zh" in languages.values()
    if DEMO.exists():
        check_runs([r for r in runs if r.parameters.get("language") in ("it", "zh")])


@pytest.mark.skipif(not DEMO.exists(), reason="needs the demo data (make demo)")
def test_a_chinese_run_has_translated_headings_labels_and_conclusions(tmp_path):
    code = cli.main(["report", "--notebook", "notebooks/hello_report.ipynb", "--language", "zh",
                     "--output-root", str(tmp_path), "--run-id", "zh"])
    assert code == 0
    nb = json.loads((tmp_path / "zh" / "hello_report" / "notebook.ipynb").read_text())
    markdown = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    assert "# " + translate("heading.hello_report.a6f2324d", "zh") in markdown
    assert "## " + translate("heading.hello_report.e99ca1d9", "zh") in markdown
    outputs = json.dumps([c.get("outputs", []) for c in nb["cells"]], ensure_ascii=False)
    assert "位客戶" in outputs  # the conclusions in Chinese
    assert re.search("最大比例：(中小企業|中型市場|大型企業)中的(高|低|無)接觸", outputs)  # with the domain's labels
    html = (tmp_path / "zh" / "hello_report" / "report.html")
    page = html.read_text(encoding="utf-8")
    assert '<html lang="zh">' in page and "位客戶" in page
    assert "<h1" in page and translate("heading.hello_report.a6f2324d", "zh") in page


def test_workshop_kit_in_italian_has_italian_headings(tmp_path):
    out = workshop.build_workshop(tmp_path / "kit", root=ROOT, handout=False, language="it")
    nb = json.loads((out / "learner" / "01_why_randomise.ipynb").read_text(encoding="utf-8"))
    first = "".join(nb["cells"][0]["source"])
    assert first.startswith("# " + translate("workshop_heading.01_why_randomise.cell-00", "it"))
    assert "Esercizio 1" in json.dumps(nb, ensure_ascii=False)


def test_workshop_refuses_an_unknown_language(tmp_path, capsys):
    assert cli.main(["workshop", "--out", str(tmp_path / "kit"), "--no-handout", "--language", "fr"]) == 2
    assert "en, it, es, zh, ru" in capsys.readouterr().err
