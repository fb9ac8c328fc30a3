"""The README's recipes work as written: "your own experiment / survey / event log in five
minutes" commands pass the batch's checks on small files shaped as the README describes them
(the cheap ones run end to end), the data contracts they name accept those files, and the
library snippet ends with the results (not a bare number)."""

from __future__ import annotations

import ast
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engagement_kit import cli
from engagement_kit.reports.config import ConfigError, RunSpec, check_runs, parse_parameters
from engagement_kit.simulate import simulate

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
EK = ".venv/bin/engagement-kit"


def _section(title_start: str) -> str:
    start = README.index(f"\n## {title_start}")
    end = README.find("\n## ", start + 1)
    return README[start : end if end > 0 else None]


RECIPES = _section("Your own data")


def _commands() -> list[list[str]]:
    """Every engagement-kit command of the recipes' bash blocks (``a && b`` is two)."""
    out = []
    for block in re.findall(r"```bash\n(.*?)```", RECIPES, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            for part in line.split("&&"):
                words = shlex.split(part, comments=True)
                if words and words[0] == EK:
                    out.append(words[1:])
    return out


# The recipes are the commands on the `my_*.csv` files the README describes (other commands of the
# section, such as survey exports with a codebook, are tested where their feature lives).
COMMANDS = [c for c in _commands() if any(re.search(r"\bmy_\w+\.csv\b", w) for w in c)]
REPORTS = [c for c in COMMANDS if c[:2] == ["report", "--notebook"]]
VALIDATES = [c for c in COMMANDS if c[:1] == ["validate"]]


def _files(folder: Path) -> dict[str, Path]:
    """The small files the recipes describe, written into ``folder``: name -> path."""
    rng = np.random.default_rng(17)
    n = 1200
    variant = rng.choice(["A", "B"], n)
    ab = pd.DataFrame({
        "variant": variant,
        "region": rng.choice(["north", "south"], n),
        "visits_before": rng.poisson(3, n),
        "converted": rng.binomial(1, np.where(variant == "B", 0.14, 0.10)),
        "basket": rng.gamma(2.0, 20.0, n).round(2),
    })
    latent = rng.normal(size=(400, 2))
    survey = pd.DataFrame({
        f"{scale}_{i}": np.clip(np.round(3 + latent[:, k] + rng.normal(scale=0.7, size=400)), 1, 5).astype(int)
        for k, scale in enumerate(["trust", "care"]) for i in (1, 2, 3)
    })  # fmt: skip
    stages = ["acquisition", "activation", "retention", "referral", "revenue"]
    events = pd.DataFrame([
        (f"U{c:04d}", pd.Timestamp("2025-01-01") + pd.Timedelta(days=int(c % 50) + 3 * j), "aarrr", stages[j])
        for c in range(300) for j in range(1 + c % len(stages))
    ], columns=["customer_id", "timestamp", "framework", "stage"])  # fmt: skip
    sim = simulate(n_customers=400, seed=5, truth=False)
    dsce = sim.dsce[["customer_id", *[c for c in sim.dsce.columns if c != "customer_id" and not c.startswith("target_")]]]
    tables = {
        "my_ab.csv": ab,
        "my_survey.csv": survey,
        "my_events.csv": events,
        "my_dsce.csv": dsce,
        "my_outcomes.csv": sim.outcomes,
        "my_customers.csv": sim.customers[["customer_id", "segment", "touch_model", "signup_date"]],
    }
    paths = {}
    for name, table in tables.items():
        table.to_csv(folder / name, index=False)
        paths[name] = folder / name
    return paths


def _localise(words: list[str], files: dict[str, Path]) -> list[str]:
    """The command with the README's file names pointing at the test's files."""
    out = []
    for w in words:
        for name, path in files.items():
            w = re.sub(rf"(?<![\w/]){re.escape(name)}\b", str(path), w)
        out.append(w)
    return out


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    return _files(tmp_path_factory.mktemp("own_data"))


def _check(words: list[str]) -> None:
    """What ``engagement-kit report --notebook`` checks before any kernel starts."""
    args = cli.build_parser("report").parse_args(words)
    run = RunSpec(name=Path(args.notebook).stem, notebook=args.notebook, parameters={}, entry="--notebook", root=ROOT)
    run.parameters.update(parse_parameters(args.param))
    check_runs([run])


def test_there_is_a_recipe_for_every_analysis_notebook_and_each_names_its_contract():
    notebooks = {Path(c[2]).stem for c in REPORTS}
    assert notebooks == {"touch_model_experiment", "touch_model_targeting", "engagement_dimensions",
                         "customer_journeys", "dsce_scorecard", "hello_report"}  # fmt: skip
    assert {c[1] for c in VALIDATES} == {"events", "dsce", "outcomes", "customers"}
    assert "validate customers" not in RECIPES.split("A/B/n experiment")[1].split("\n")[0], (
        "a single A/B file is not pointed at the five-table customers contract")


@pytest.mark.parametrize("words", REPORTS, ids=lambda c: Path(c[2]).stem)
def test_recipe_passes_the_checks_before_any_kernel_starts(words, files):
    _check(_localise(words, files))


def test_the_checks_would_catch_a_wrong_column(files):
    words = _localise(next(c for c in REPORTS if "touch_model_experiment" in c[2]), files)
    with pytest.raises(ConfigError, match="variant"):
        _check([w.replace("arm_col=variant", "arm_col=varaint") for w in words])


@pytest.mark.parametrize("words", VALIDATES, ids=lambda c: c[1])
def test_the_contract_a_recipe_names_accepts_the_file_it_describes(words, files, capsys):
    assert cli.main(_localise(words, files)) == 0, capsys.readouterr()


@pytest.mark.parametrize("stem", ["hello_report", "touch_model_experiment"])
def test_cheap_recipes_run_end_to_end(stem, files, tmp_path):
    words = _localise(next(c for c in REPORTS if Path(c[2]).stem == stem), files)
    done = subprocess.run([sys.executable, "-m", "engagement_kit.cli", *words, "--output-root", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=900)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    (run_dir,) = tmp_path.glob(f"*/{stem}")
    assert (run_dir / "report.html").is_file()
    if stem == "touch_model_experiment":
        effects = pd.read_csv(run_dir / "effects.csv")
        assert set(effects["metric"]) == {"converted", "basket"} and set(effects["arm"]) == {"B"}


def test_the_library_snippet_ends_with_the_results_and_the_truth_beside_them():
    blocks = re.findall(r"```python\n(.*?)```", _section("Using the library"), re.S)
    snippet = next(b for b in blocks if "simulate(" in b).replace("20_000", "4_000")
    tree = ast.parse("import engagement_kit as ek\n" + snippet)
    last = tree.body.pop()
    assert isinstance(last, ast.Expr), "the snippet ends with an expression a notebook displays"
    scope: dict = {}
    exec(compile(tree, "README.md", "exec"), scope)
    shown = eval(compile(ast.Expression(last.value), "README.md", "eval"), scope)
    assert isinstance(shown, pd.DataFrame), f"a notebook would show {type(shown).__name__}, not the results"
    assert {"arm", "diff", "ci_low", "ci_high", "truth"} <= set(shown.columns)
    assert set(shown["arm"]) == {"low_touch", "high_touch"} and shown["truth"].notna().all()
