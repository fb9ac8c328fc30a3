"""Translations: every language holds exactly the keys of en.yaml with the same {fields}; the
notebooks' headings in en.yaml match the notebooks; labels, conclusions and plots follow the
language; a plot draws Chinese and Russian text with the project's own fonts."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
import yaml

from engagement_kit import frameworks as fw
from engagement_kit.i18n import (LANGUAGES, UnknownLanguageError, check_language, fields_of, heading_keys, messages,
                                 translate, translate_headings)

ROOT = Path(__file__).resolve().parents[1]
OTHERS = [lang for lang in LANGUAGES if lang != "en"]
NOTEBOOKS = {"heading": sorted((ROOT / "notebooks").glob("*.ipynb")),
             "workshop_heading": sorted((ROOT / "notebooks" / "workshop").glob("*.ipynb"))}


@pytest.mark.parametrize("language", OTHERS)
def test_every_language_has_exactly_the_keys_of_english(language):
    english, local = set(messages("en")), set(messages(language))
    assert not english - local, f"{language}.yaml lacks {sorted(english - local)}"
    assert not local - english, f"{language}.yaml has keys en.yaml lacks: {sorted(local - english)}"


@pytest.mark.parametrize("language", OTHERS)
def test_every_translation_keeps_the_fields_of_english(language):
    english, local = messages("en"), messages(language)
    wrong = {k: (sorted(fields_of(english[k])), sorted(fields_of(v))) for k, v in local.items()
             if k in english and fields_of(english[k]) != fields_of(v)}
    assert not wrong, f"{language}.yaml: keys whose {{fields}} differ from English (english, {language}): {wrong}"


@pytest.mark.parametrize("language", OTHERS)
def test_no_translation_is_left_empty(language):
    assert not [k for k, v in messages(language).items() if not v.strip()]


def test_the_check_fails_on_a_missing_key_and_a_changed_field(tmp_path):
    # the comparison above is not vacuous: a file with a key dropped and a field renamed fails it
    english = messages("en")
    broken = dict(english)
    broken.pop("overview.customers")
    broken["experiments.ci"] = "CI {lo} to {high}"
    assert set(english) - set(broken) == {"overview.customers"}
    assert fields_of(english["experiments.ci"]) != fields_of(broken["experiments.ci"])


def test_chinese_is_traditional_script():
    # characters whose Simplified form differs: the Traditional form must be used (GLOSSARY.md)
    text = "".join(messages("zh").values())
    simplified = set("户与参这说时为数据级质渐发现过应对则网线图")
    assert not simplified & set(text), sorted(simplified & set(text))
    assert "客戶" in text and "高接觸" in text


def test_english_labels_are_the_concepts_labels():
    english = messages("en")
    for name, concept in fw._CONCEPTS.items():
        assert english[f"label.{name}"] == concept.label


def test_glossary_terms_are_used():
    # the source articles' own words (/work/shared/GLOSSARY.md), not a machine translation
    assert fw.label("high_touch", "zh") == "高接觸"
    assert fw.label("no_touch", "es") == "Sin contacto"
    assert fw.label("high_touch", "it") == "High-touch"  # 000 keeps the English term in its body
    assert fw.label("absorption", "ru") == "Погружение"
    assert fw.label("customer_intent", "it") == "Intenzione del cliente"
    assert "zangola" not in "".join(messages("it").values())  # 001's "butter churn" error


@pytest.mark.parametrize("prefix", sorted(NOTEBOOKS))
def test_english_headings_match_the_notebooks(prefix):
    english = {k: v for k, v in messages("en").items() if k.startswith(prefix + ".")}
    found: dict[str, str] = {}
    for path in NOTEBOOKS[prefix]:
        found.update(heading_keys(json.loads(path.read_text()), f"{prefix}.{path.stem}"))
    stale = {k: (english.get(k), v) for k, v in found.items() if english.get(k) != v}
    assert not stale, f"update en.yaml (then every language) for these headings (en.yaml, notebook): {stale}"
    assert not set(english) - set(found), f"en.yaml holds headings no notebook has: {sorted(set(english) - set(found))}"


def test_headings_are_swapped_by_cell_id_and_only_when_unchanged():
    nb = json.loads((ROOT / "notebooks" / "hello_report.ipynb").read_text())
    first = next(c for c in nb["cells"] if c["cell_type"] == "markdown")
    body = "".join(first["source"]).splitlines()[2:]
    out = translate_headings(json.loads(json.dumps(nb)), "it", "heading.hello_report")
    text = "".join(next(c for c in out["cells"] if c["cell_type"] == "markdown")["source"])
    assert text.startswith("# " + translate(f"heading.hello_report.{first['id']}", "it"))
    assert text.splitlines()[2:] == body  # the body is left as written
    first["source"] = "# A heading someone changed\n"
    out = translate_headings(nb, "it", "heading.hello_report")
    assert "".join(out["cells"][0]["source"]) == "# A heading someone changed\n"


def test_unknown_language_is_refused_with_the_choices():
    with pytest.raises(UnknownLanguageError, match="choose one of en, it, es, zh, ru"):
        check_language("fr")
    assert check_language("zh") == "zh"


def test_translate_fills_fields_and_falls_back_to_english():
    assert translate("experiments.ci", "it", low="1", high="2") == "IC da 1 a 2"
    assert translate("language.name", "ru") == "Русский"


def test_yaml_files_are_plain_mappings():
    for language in LANGUAGES:
        data = yaml.safe_load((ROOT / "engagement_kit" / "i18n" / f"{language}.yaml").read_text(encoding="utf-8"))
        assert isinstance(data, dict)


def test_conclusions_follow_the_language_and_escape_labels():
    import pandas as pd

    from engagement_kit.overview import overview

    data = pd.DataFrame({"touch_model": ["high_touch"] * 30 + ["<b>x</b>"] * 30, "segment": ["smb"] * 60})
    result = overview(data, arm_col="touch_model", segment_col="segment")
    english = result.conclusions()
    chinese = result.conclusions(language="zh")
    assert "60 customers" in english and "位客戶" in chinese
    assert "<b>" not in chinese and "<b>" not in english
    with pytest.raises(UnknownLanguageError):
        result.conclusions(language="xx")


@pytest.mark.parametrize("language,text", [("zh", "高接觸 客戶參與"), ("ru", "Вовлеченность клиентов")])
def test_plots_render_chinese_and_cyrillic_without_missing_glyphs(language, text):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from engagement_kit.plots import plot_label, set_theme

    set_theme(language=language)
    fig, ax = plt.subplots()
    ax.set_title(text)
    ax.set_xlabel(plot_label("high_touch"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.canvas.draw()
    plt.close(fig)
    missing = [str(w.message) for w in caught if "missing from" in str(w.message) or "Glyph" in str(w.message)]
    assert not missing, missing
    set_theme()


def test_the_missing_glyph_check_can_fail():
    # without the Chinese font the same drawing warns: the test above is not vacuous
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with matplotlib.rc_context({"font.family": "sans-serif", "font.sans-serif": ["DejaVu Sans"]}):
        fig, ax = plt.subplots()
        ax.set_title("高接觸")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fig.canvas.draw()
        plt.close(fig)
    assert any("missing from" in str(w.message) or "Glyph" in str(w.message) for w in caught)


def test_overview_plot_speaks_the_language_and_keeps_the_house_colours():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd
    from matplotlib.colors import to_hex

    from engagement_kit.overview import overview
    from engagement_kit.plots import TOUCH_MODEL_PALETTE, set_theme
    from engagement_kit.plots.overview import share_plot

    data = pd.DataFrame({"touch_model": ["high_touch", "no_touch"] * 20, "segment": ["smb"] * 40})
    set_theme(language="zh")
    try:
        ax = share_plot(overview(data, arm_col="touch_model", segment_col="segment"))
        legend = {t.get_text(): to_hex(h.get_facecolor()) for t, h in
                  zip(ax.get_legend().get_texts(), ax.get_legend().legend_handles)}
        assert ax.get_title() == translate("plot.overview_title", "zh")
        import seaborn as sns

        # seaborn's bars desaturate their colour by 0.75
        assert legend["高接觸"] == to_hex(sns.desaturate(TOUCH_MODEL_PALETTE["high_touch"], 0.75))
        assert [t.get_text() for t in ax.get_xticklabels()] == ["中小企業"]
        plt.close(ax.figure)
    finally:
        set_theme()


def test_templates_cannot_reach_into_values():
    from engagement_kit.i18n import _PlainFields

    with pytest.raises(ValueError, match="plain name"):
        _PlainFields().format("{arm.__class__}", arm="x")
    assert fields_of("{arm.__class__}") != fields_of("{arm}")
