"""Teaching workshop: exercise checks, teaching simulations, and the learner-kit builder.

The workshop notebooks in ``notebooks/workshop/`` are the single source and the
teacher versions: their first cell (tagged ``teacher``) says so, and each exercise has a
cell tagged ``exercise`` (the learner's starting point, usually ``answer = None``)
followed by a cell tagged ``solution``, so Run All passes every check.
:func:`learner_version` removes the solution and teacher cells: ``make workshop`` writes
those to ``workshop_kit/learner/`` (what learners open) and the teacher versions to
``workshop_kit/teacher/``.

Every check's verdict carries a word beside its emoji (``✅ PASS`` / ``❌ NOT YET``):
without an emoji font the emoji is an empty box, the word still reads.

Checks compare a learner's answer with the truth the simulator knows, and say
in plain words what is right or what to look at again. They never raise on a
wrong answer: a learner sees a message, not a traceback.

Example
-------
>>> r = check_close(0.52, truth=0.5, tolerance=0.05, what="the share")
>>> r.ok
True
>>> check_close(None, truth=0.5, tolerance=0.05, what="the share").ok
False
>>> str(r).split(" — ")[0]
'✅ PASS'
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "CheckResult",
    "check_close",
    "check_choice",
    "peeking_false_positive_rate",
    "confidence_sequence_false_positive_rate",
    "check_confidence_sequence_rate",
    "learner_version",
    "teacher_version",
    "solutions_version",
    "build_workshop",
    "WORKSHOP_DIR",
]

WORKSHOP_DIR = Path("notebooks") / "workshop"
SOLUTION_TAG = "solution"
EXERCISE_TAG = "exercise"
TEACHER_TAG = "teacher"  # cells only the teacher version has (its first-cell banner)


@dataclass(frozen=True)
class CheckResult:
    """The verdict on one answer: ``ok`` and a message for the learner."""

    ok: bool
    message: str
    language: str = "en"

    @property
    def marker(self) -> str:
        """``✅ PASS`` or ``❌ NOT YET`` (the word in ``language``)."""
        from .i18n import translate

        return "✅ " + translate("workshop.pass", self.language) if self.ok else "❌ " + translate("workshop.not_yet", self.language)

    def __str__(self) -> str:
        return f"{self.marker} — {self.message}"

    __repr__ = __str__

    def _repr_markdown_(self) -> str:  # shown nicely in JupyterLab
        return f"**{self.marker}** — {self.message}"

    def __bool__(self) -> bool:
        return self.ok


def _number(answer: Any) -> float | None:
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return None
    return value if np.isfinite(value) else None


def check_close(
    answer: Any,
    truth: float,
    tolerance: float,
    what: str,
    hint: str = "",
    relative: bool = False,
) -> CheckResult:
    """Accept a number within ``tolerance`` of ``truth`` (absolute, or relative to it).

    >>> check_close(110, truth=100, tolerance=0.05, what="n", relative=True).ok
    False
    """
    value = _number(answer)
    if value is None:
        return CheckResult(False, f"No answer yet for {what}: put a number in `answer` and run the cell again.")
    allowed = tolerance * abs(truth) if relative else tolerance
    if abs(value - truth) <= allowed:
        return CheckResult(True, f"Right: {what} is about {truth:.4g} (you said {value:.4g}).")
    direction = "high" if value > truth else "low"
    return CheckResult(False, f"Not quite: your {what} ({value:.4g}) is too {direction}. {hint}".strip())


def check_choice(answer: Any, correct: str, options: dict[str, str], what: str) -> CheckResult:
    """Accept one option of a multiple-choice question (case-insensitive letter or text).

    >>> check_choice("b", "b", {"a": "no", "b": "yes"}, "question 1").ok
    True
    """
    if answer is None:
        return CheckResult(False, f"No answer yet for {what}: set `answer` to one of {sorted(options)}.")
    key = str(answer).strip().lower()
    if key not in options:
        return CheckResult(False, f"Choose one of {sorted(options)} for {what}.")
    if key == correct:
        return CheckResult(True, f"Right: {options[key]}")
    return CheckResult(False, f"Not this one: {options[key]}")


def _aa_conversions(
    n_experiments: int, n_per_arm: int, n_looks: int, base_rate: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cumulative conversions of two identical arms at each look (experiments x looks), and
    the customers per arm at each look: binomial draws of the conversions added between looks,
    no per-customer loop. The same seed gives the same A/A tests to every analysis of them."""
    rng = np.random.default_rng(seed)
    looks = np.linspace(n_per_arm / n_looks, n_per_arm, n_looks).round().astype(int)
    increments = np.diff(np.concatenate([[0], looks]))
    a = rng.binomial(increments[None, :], base_rate, size=(n_experiments, n_looks)).cumsum(axis=1)
    b = rng.binomial(increments[None, :], base_rate, size=(n_experiments, n_looks)).cumsum(axis=1)
    return a, b, looks[None, :]


def peeking_false_positive_rate(
    n_experiments: int = 2_000,
    n_per_arm: int = 1_000,
    n_looks: int = 10,
    alpha: float = 0.05,
    base_rate: float = 0.10,
    seed: int = 0,
) -> dict[str, float]:
    """Simulate A/A tests that are checked ``n_looks`` times as data comes in.

    Both arms have the same conversion rate, so every "significant" result is a
    false positive. Returns the false-positive rate when looking once at the end
    and when stopping at the first look with p < alpha. Vectorised: cumulative
    conversions per look, a two-proportion z-test at every look at once.

    >>> r = peeking_false_positive_rate(n_experiments=500, n_looks=5, seed=1)
    >>> r["peeking"] > r["single_look"]
    True
    """
    from scipy import stats

    a, b, n = _aa_conversions(n_experiments, n_per_arm, n_looks, base_rate, seed)
    pooled = (a + b) / (2 * n)
    se = np.sqrt(pooled * (1 - pooled) * 2 / n)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, (a / n - b / n) / se, 0.0)
    significant = 2 * stats.norm.sf(np.abs(z)) < alpha
    return {
        "single_look": float(significant[:, -1].mean()),
        "peeking": float(significant.any(axis=1).mean()),
        "n_looks": float(n_looks),
        "alpha": alpha,
    }


def confidence_sequence_false_positive_rate(
    n_experiments: int = 2_000,
    n_per_arm: int = 1_000,
    n_looks: int = 10,
    alpha: float = 0.05,
    base_rate: float = 0.10,
    seed: int = 0,
) -> dict[str, float]:
    """The peeking simulation again, analysed with a confidence sequence instead of p-values.

    The same A/A tests as :func:`peeking_false_positive_rate` (same arguments, same seed,
    same data), but each look asks whether the anytime-valid confidence sequence
    (:func:`engagement_kit.stats.sequential.asymptotic_cs`, tuned for ``n_per_arm``)
    excludes 0. Returns the share of tests ever declared significant that way
    (``"confidence_sequence"``) beside the fixed-horizon peeking rate (``"peeking"``).

    >>> r = confidence_sequence_false_positive_rate(n_experiments=500, n_looks=5, seed=1)
    >>> r["confidence_sequence"] <= r["alpha"] < r["peeking"]
    True
    """
    from scipy import stats

    from .stats.sequential import cs_p_value, running_min

    a, b, n = _aa_conversions(n_experiments, n_per_arm, n_looks, base_rate, seed)
    pa, pb = a / n, b / n
    pooled = (a + b) / (2 * n)
    se_pooled = np.sqrt(pooled * (1 - pooled) * 2 / n)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se_pooled > 0, (pa - pb) / se_pooled, 0.0)
    peeking = (2 * stats.norm.sf(np.abs(z)) < alpha).any(axis=1)
    se = np.sqrt(pa * (1 - pa) / n + pb * (1 - pb) / n)  # unpooled, as the confidence sequence uses
    p_any = running_min(cs_p_value(pa - pb, se, 2 * n, 2 * n_per_arm, alpha))[:, -1]
    return {
        "confidence_sequence": float((p_any <= alpha).mean()),
        "peeking": float(peeking.mean()),
        "n_looks": float(n_looks),
        "alpha": alpha,
    }


# --------------------------------------------------------------------------------------
# learner material
# --------------------------------------------------------------------------------------
def _tags(cell: dict) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


def _without(nb: dict, tags: set[str]) -> dict:
    """A copy without the cells tagged with any of ``tags`` and without outputs
    (cell ids unchanged: translations are keyed by them)."""
    out = json.loads(json.dumps(nb))
    out["cells"] = [c for c in out["cells"] if not (tags & _tags(c))]
    for c in out["cells"]:
        if c.get("cell_type") == "code":
            c["outputs"], c["execution_count"] = [], None
    return out


def learner_version(nb: dict) -> dict:
    """A copy of a workshop notebook without its ``solution`` and ``teacher`` cells and outputs.

    >>> nb = {"cells": [{"cell_type": "markdown", "metadata": {"tags": ["teacher"]}, "source": "TEACHER"},
    ...                 {"cell_type": "code", "metadata": {"tags": ["exercise"]}, "source": "answer = None"},
    ...                 {"cell_type": "code", "metadata": {"tags": ["solution"]}, "source": "answer = 1"}]}
    >>> [c["source"] for c in learner_version(nb)["cells"]]
    ['answer = None']
    """
    return _without(nb, {SOLUTION_TAG, TEACHER_TAG})


def teacher_version(nb: dict) -> dict:
    """A copy with everything (banner, exercises, solutions), outputs cleared: Run All passes every check."""
    return _without(nb, set())


def solutions_version(nb: dict) -> dict:
    """A copy without the learner stubs (``exercise`` cells) and the banner, for the handout."""
    return _without(nb, {EXERCISE_TAG, TEACHER_TAG})


def translated(nb: dict, language: str, name: str) -> dict:
    """A workshop notebook with its headings in ``language`` (keys
    ``workshop_heading.<notebook stem>.<cell id>`` of ``engagement_kit/i18n/<language>.yaml``)."""
    from .i18n import translate_headings

    return translate_headings(json.loads(json.dumps(nb)), language, f"workshop_heading.{name}")


def build_workshop(out_dir: str | Path, root: str | Path = ".", handout: bool = True, language: str = "en") -> Path:
    """Prepare the offline workshop folder, its notebooks' headings in ``language``.

    ``out_dir`` gets ``learner/`` (the notebooks learners open: no solutions), ``teacher/``
    (the same notebooks with a solution under each exercise, marked in their first cell),
    ``data/`` (the real data sets), ``handout.html`` (the solutions, executed and rendered),
    ``requirements.txt`` (the exact package versions of this environment) and a
    ``README.md`` with the offline instructions. Built in a temporary folder and
    moved into place, so a failed build leaves an earlier kit intact.
    """
    import nbformat
    import papermill as pm
    from nbconvert import HTMLExporter

    from .i18n import check_language
    from .reports.runner import KERNEL_NAME, ipc_kernel_manager_class

    check_language(language)
    root = Path(root).resolve()
    out = Path(out_dir).resolve()
    sources = sorted((root / WORKSHOP_DIR).glob("[0-9]*.ipynb"))
    if not sources:
        raise FileNotFoundError(f"no workshop notebooks in {root / WORKSHOP_DIR}")
    tmp = Path(tempfile.mkdtemp(prefix=".workshop-", dir=out.parent if out.parent.exists() else None))
    try:
        for folder, version in (("learner", learner_version), ("teacher", teacher_version)):
            (tmp / folder).mkdir()
            for src in sources:
                nb = translated(json.loads(src.read_text()), language, src.stem)
                (tmp / folder / src.name).write_text(json.dumps(version(nb), indent=1, ensure_ascii=False) + "\n")
            # the package itself beside the notebooks: Jupyter starts kernels in the notebook's
            # folder, so `import engagement_kit` works offline without installing it
            shutil.copytree(
                Path(__file__).resolve().parent,
                tmp / folder / "engagement_kit",
                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
            )
        # the notebooks simulate their own data; the real data sets come along for exploration
        if (root / "data" / "real").is_dir():
            shutil.copytree(root / "data" / "real", tmp / "data" / "real", ignore=shutil.ignore_patterns(".*"))
        if handout:
            exporter = HTMLExporter(exclude_input_prompt=True, exclude_output_prompt=True)
            bodies = []
            for src in sources:
                sol = tmp / f"_solutions_{src.name}"
                sol.write_text(json.dumps(solutions_version(translated(json.loads(src.read_text()), language, src.stem))))
                executed = tmp / f"_executed_{src.name}"
                # the batch's kernel manager: IPC sockets, so ipykernel prints no plain-TCP warning
                pm.execute_notebook(str(sol), str(executed), cwd=str(root), progress_bar=False,
                                    kernel_name=KERNEL_NAME, kernel_manager_class=ipc_kernel_manager_class())
                body, _ = exporter.from_notebook_node(nbformat.read(executed, as_version=4))
                bodies.append(body)
                sol.unlink()
                executed.unlink()
            (tmp / "handout.html").write_text(_join_html(bodies))
        freeze = subprocess.run([sys.executable, "-m", "pip", "freeze", "--exclude-editable"], capture_output=True, text=True)
        (tmp / "requirements.txt").write_text(freeze.stdout)
        (tmp / "README.md").write_text(_KIT_README)
        tmp.chmod(0o755)  # mkdtemp makes it private; the kit is for sharing
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out


def _join_html(bodies: list[str]) -> str:
    # Each nbconvert page is a full HTML document; keep the first head and all bodies.
    if len(bodies) == 1:
        return bodies[0]
    head, _, first = bodies[0].partition("<body")
    parts = [head, "<body", first.rsplit("</body>", 1)[0]]
    for b in bodies[1:]:
        inner = b.split("<body", 1)[1].split(">", 1)[1].rsplit("</body>", 1)[0]
        parts.append('<hr style="margin:3em 0">' + inner)
    parts.append("</body></html>")
    return "".join(parts)


_KIT_README = """# engagement-kit workshop: from engagement claims to evidence

This folder works offline. Learners open the notebooks in `learner/` with JupyterLab, in order:

1. `01_why_randomise.ipynb`
2. `02_how_many_customers.ipynb`
3. `03_measuring_a_dimension.ipynb`
4. `04_does_engagement_drive_loyalty.ipynb`
5. `05_the_desired_state.ipynb`

Each exercise has a cell with `answer = None`: replace `None` with your answer and run the
check cell below it. It answers "✅ PASS" or "❌ NOT YET" with a hint. `handout.html` has the
worked solutions: try first, then compare.

`teacher/` holds the teacher versions (marked in their first cell): the same notebooks with
the worked solution under each exercise, so Run All passes every check. Leave it out of a
learner's copy if you hand the solutions out only at the end.

Set-up, before the workshop while you have a network (or from a local package mirror):

    python3 -m venv .venv
    .venv/bin/pip install -r requirements.txt   # the exact versions this kit was built with
    .venv/bin/python -m jupyterlab learner/

engagement-kit itself is the `engagement_kit/` folder beside the notebooks (in `learner/`
and in `teacher/`): the notebooks import it from there, so nothing more needs installing.

From a clone of engagement-kit, `make lab` does the same. The notebooks simulate their own
data (the true answers are known); `data/real/` holds two real data sets to explore afterwards.
"""


# --------------------------------------------------------------------------------------
# checks per workshop notebook (the expected answers are computed here, out of sight)
# --------------------------------------------------------------------------------------
def _mean_diff(data, outcome: str, arm_col: str, arm: str, control: str) -> float:
    means = data.groupby(arm_col, observed=True)[outcome].mean()
    return float(means[arm] - means[control])


def check_naive_difference(answer: Any, data, outcome: str = "revenue", arm: str = "high_touch", control: str = "no_touch") -> CheckResult:
    """01: the naive difference in mean ``outcome``, ``arm`` minus ``control``."""
    truth = _mean_diff(data, outcome, "touch_model", arm, control)
    hint = "Compute the mean per touch model, then subtract the no-touch mean from the high-touch mean."
    return check_close(answer, truth, 0.01, f"naive difference in mean {outcome}", hint, relative=True)


def check_segment_difference(answer: Any, data, segment: str, outcome: str = "revenue", arm: str = "high_touch", control: str = "no_touch") -> CheckResult:
    """01: the difference within one segment only."""
    truth = _mean_diff(data[data["segment"] == segment], outcome, "touch_model", arm, control)
    hint = f"Keep only the rows of segment '{segment}' before you compare the means."
    return check_close(answer, truth, 0.01, f"difference within {segment}", hint, relative=True)


def check_why_naive_misleads(answer: Any) -> CheckResult:
    """01: multiple choice on confounding."""
    return check_choice(
        answer,
        "b",
        {
            "a": "High-touch works that well? The segment tables say otherwise: within a segment the gap is much smaller.",
            "b": "High-touch customers are mostly enterprise customers, who spend more whatever the touch model. "
            "The segment is a confounder: it drives both who gets high-touch and how much they spend.",
            "c": "Chance does not produce a gap this large with 20,000 customers; look at the segment mix instead.",
        },
        "why the naive comparison misleads",
    )


def check_truth_in_interval(answer: Any, ci_low: float, ci_high: float, truth: float) -> CheckResult:
    """01/02: is the true effect inside the confidence interval? (answer 'yes' or 'no')."""
    inside = ci_low <= truth <= ci_high
    correct = "yes" if inside else "no"
    return check_choice(
        answer,
        correct,
        {
            correct: f"the true effect {truth:.4g} is {'inside' if inside else 'outside'} [{ci_low:.4g}, {ci_high:.4g}].",
            ("no" if inside else "yes"): "compare the true effect with the two ends of the interval again.",
        },
        "whether the interval covers the truth",
    )


def check_sample_size(answer: Any, baseline: float, mde: float, alpha: float = 0.05, power: float = 0.8) -> CheckResult:
    """02: customers per arm to detect ``baseline`` -> ``baseline + mde`` (two-sided)."""
    from statsmodels.stats.power import NormalIndPower
    from statsmodels.stats.proportion import proportion_effectsize

    es = proportion_effectsize(baseline + mde, baseline)
    truth = float(np.ceil(NormalIndPower().solve_power(effect_size=es, alpha=alpha, power=power, ratio=1.0)))
    hint = "Use the power function with the baseline rate, the smallest lift you care about, alpha and power."
    return check_close(answer, truth, 0.05, "customers per arm", hint, relative=True)


def check_peeking_rate(answer: Any, n_looks: int, alpha: float = 0.05, seed: int = 0) -> CheckResult:
    """02: the false-positive rate when stopping at the first significant look."""
    truth = peeking_false_positive_rate(n_experiments=4_000, n_looks=n_looks, alpha=alpha, seed=seed + 1)["peeking"]
    hint = "Run the peeking simulation and read the share of A/A tests stopped as 'significant'."
    return check_close(answer, truth, 0.03, f"false-positive rate with {n_looks} looks", hint)


def check_confidence_sequence_rate(answer: Any, n_looks: int, alpha: float = 0.05, seed: int = 0) -> CheckResult:
    """02: the false-positive rate of the peeking analyst who uses a confidence sequence."""
    truth = confidence_sequence_false_positive_rate(n_experiments=4_000, n_looks=n_looks, alpha=alpha, seed=seed + 1)
    value = _number(answer)
    if value is not None and abs(value - truth["peeking"]) < abs(value - truth["confidence_sequence"]):
        return CheckResult(False, "That is the rate with ordinary p-values at every look. Run the simulation "
                           "with confidence sequences and read its \"confidence_sequence\" value.")
    hint = "Run the confidence-sequence simulation and read the share of A/A tests ever declared significant."
    result = check_close(answer, truth["confidence_sequence"], 0.02, f"false-positive rate with {n_looks} looks", hint)
    if result.ok:
        return CheckResult(True, result.message + f" At most alpha = {alpha:g}, however often you look.")
    return result


def simulated_power(
    n_per_arm: int,
    baseline: float,
    mde: float,
    alpha: float = 0.05,
    n_experiments: int = 2_000,
    seed: int = 0,
) -> float:
    """Share of simulated A/B tests (true lift ``mde``) that a two-proportion z-test detects.

    >>> round(simulated_power(2_000, 0.10, 0.0, n_experiments=4_000, seed=2), 2) <= 0.07
    True
    """
    from scipy import stats

    rng = np.random.default_rng(seed)
    a = rng.binomial(n_per_arm, baseline + mde, n_experiments)
    b = rng.binomial(n_per_arm, baseline, n_experiments)
    pooled = (a + b) / (2 * n_per_arm)
    se = np.sqrt(pooled * (1 - pooled) * 2 / n_per_arm)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, (a - b) / n_per_arm / se, 0.0)
    return float((2 * stats.norm.sf(np.abs(z)) < alpha).mean())


def check_power(answer: Any, n_per_arm: int, baseline: float, mde: float, alpha: float = 0.05) -> CheckResult:
    """02: power of a two-arm test with ``n_per_arm`` customers per arm (answer 0..1)."""
    from statsmodels.stats.power import NormalIndPower
    from statsmodels.stats.proportion import proportion_effectsize

    es = proportion_effectsize(baseline + mde, baseline)
    truth = float(NormalIndPower().power(effect_size=es, nobs1=n_per_arm, alpha=alpha, ratio=1.0))
    hint = "Power is a share between 0 and 1: the chance the test detects the lift."
    return check_close(answer, truth, 0.03, f"power with {n_per_arm:,} per arm", hint)


# ---- 03 measuring a dimension ---------------------------------------------------------
def _reverse_scored(data, items: list[str], reverse: list[str], likert_min: float = 1, likert_max: float = 7):
    x = data[items].astype(float).copy()
    for it in reverse:
        if it in x:
            x[it] = likert_min + likert_max - x[it]
    return x


def check_scale_correlation(answer: Any, survey, latents, scale: str, items: list[str], reverse: list[str]) -> CheckResult:
    """03: correlation of the (reverse-scored) scale mean with the true latent score."""
    score = _reverse_scored(survey, items, reverse).mean(axis=1)
    truth_lat = latents.set_index("customer_id").loc[survey["customer_id"], scale].to_numpy()
    truth = float(np.corrcoef(score.to_numpy(), truth_lat)[0, 1])
    hint = "Did you reverse-score the negatively worded item (8 minus the answer) before averaging?"
    return check_close(answer, truth, 0.01, f"correlation of the {scale} score with the true {scale}", hint)


def check_alpha(answer: Any, survey, items: list[str], reverse: list[str]) -> CheckResult:
    """03: Cronbach's alpha, k/(k-1) (1 - sum of item variances / variance of the sum)."""
    x = _reverse_scored(survey, items, reverse).dropna()
    k = x.shape[1]
    truth = float(k / (k - 1) * (1 - x.var(ddof=1).sum() / x.sum(axis=1).var(ddof=1)))
    hint = "Read the alpha column of the reliability table for this scale (items reverse-scored)."
    return check_close(answer, truth, 0.005, "Cronbach's alpha", hint)


def check_which_model_fits(answer: Any) -> CheckResult:
    """03: the five-dimension model fits; one general factor does not."""
    return check_choice(
        answer,
        "b",
        {
            "a": "One general 'engagement' factor: look again at its CFI (far below .95) and RMSEA (far above .06).",
            "b": "The five-dimension model: CFI above .95 and RMSEA below .06, while one general factor fits badly. "
            "The items measure five related but distinct dimensions.",
        },
        "which model fits",
    )


# ---- 04 does engagement drive loyalty --------------------------------------------------
def check_indirect_effect(answer: Any, data, treatment: str, mediator: str, outcome: str) -> CheckResult:
    """04: indirect effect a*b; a from mediator ~ treatment, b from outcome ~ treatment + mediator."""
    d = data[[treatment, mediator, outcome]].astype(float).dropna()
    one = np.ones(len(d))
    a = np.linalg.lstsq(np.column_stack([one, d[treatment]]), d[mediator], rcond=None)[0][1]
    b = np.linalg.lstsq(np.column_stack([one, d[treatment], d[mediator]]), d[outcome], rcond=None)[0][2]
    hint = "Multiply path a (treatment -> mediator) by path b (mediator -> outcome, with the treatment in the model)."
    return check_close(answer, float(a * b), 0.02, "indirect effect a x b", hint, relative=True)


def check_survey_correlation_is_not_proof(answer: Any) -> CheckResult:
    """04: a survey association is not a causal effect."""
    return check_choice(
        answer,
        "b",
        {
            "a": "Not proven: nobody assigned identification at random. Customers who identify with the brand "
            "differ in other ways too (here: their value to the business), and that drives referrals as well.",
            "b": "the survey shows an association. Valuable customers both identify more and refer more; "
            "only an experiment that changes identification would show its effect.",
        },
        "whether the survey proves the claim",
    )


def check_randomised_path(answer: Any) -> CheckResult:
    """04: only path a (touch model -> dimension) is randomised. Options are numbered
    1-3 so that they are not confused with the paths' letters."""
    return check_choice(
        answer,
        "1",
        {
            "1": "the touch model was assigned at random, so path a is an experimental effect. Path b "
            "compares customers with different dimension scores: observational.",
            "2": "path b compares customers whose dimension scores differ: nobody randomised those scores.",
            "3": "only the touch model was randomised; the mediator was not.",
        },
        "which path is randomised",
    )


# ---- 05 the desired state ------------------------------------------------------------
def check_component_score(answer: Any, rating: float, scale_min: float = 1, scale_max: float = 5) -> CheckResult:
    """05: a rating as a 0-100 score: 100 (rating - min) / (max - min)."""
    truth = 100 * (rating - scale_min) / (scale_max - scale_min)
    hint = f"The bottom of the scale ({scale_min}) is 0 and the top ({scale_max}) is 100."
    return check_close(answer, truth, 0.5, f"score of a rating of {rating}", hint)


def check_account_index(answer: Any, ratings: dict, scale_min: float = 1, scale_max: float = 5) -> CheckResult:
    """05: the equal-weight index of one account: the mean of its eight 0-100 scores."""
    r = np.array([float(v) for v in ratings.values()])
    truth = float(np.mean(100 * (r - scale_min) / (scale_max - scale_min)))
    hint = "Turn each rating into a 0-100 score first, then average the eight scores."
    return check_close(answer, truth, 0.5, "the account's DSCE index", hint)


def check_largest_gap(answer: Any, summary, group: str) -> CheckResult:
    """05: the component with the largest mean gap in one group of a ``group_summary`` table."""
    rows = summary[(summary["group"] == group) & summary["component"].isin(_dsce_components())]
    truth = str(rows.sort_values("gap", ascending=False)["component"].iloc[0])
    if answer is None:
        return CheckResult(False, "No answer yet: put the component's name (a string) in `answer`.")
    if _concept_key(answer) in (truth, _concept_key(_label(truth))):
        return CheckResult(True, f"Right: '{truth}' ({_label(truth)}) is furthest from the desired state in {group}.")
    return CheckResult(False, f"Not this one: look for the darkest cell in the '{group}' column (the largest gap).")


def _concept_key(text: Any) -> str:
    """'Outcomes at scale' and 'outcomes_at_scale' are the same answer."""
    key = str(text).strip().lower().replace("-", " ").replace(" ", "_")
    for c in _dsce_components():
        if key in (c, _label(c).lower().replace("-", " ").replace(" ", "_")):
            return c
    return key


def _label(name: str) -> str:
    from .frameworks import label

    return label(name)


def _dsce_components() -> tuple[str, ...]:
    from .frameworks import DSCE_COMPONENT_NAMES

    return DSCE_COMPONENT_NAMES
