"""The researcher's first hour in JupyterLab: one kernel everywhere, no noise above the real
output, and the pieces Lab needs (ipywidgets for progress bars) installed."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
import pytest

from engagement_kit.reports.runner import KERNEL_NAME

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted((ROOT / "notebooks").rglob("*.ipynb"))


def _make_target(name: str) -> str:
    text = (ROOT / "Makefile").read_text()
    m = re.search(rf"^{name}:.*\n((?:\t.*\n)+)", text, re.M)
    assert m, f"no `{name}` target in the Makefile"
    return m.group(1)


def test_there_are_shipped_notebooks():
    assert len(SHIPPED) >= 10  # the six analyses and the five workshop notebooks


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.relative_to(ROOT / "notebooks").as_posix())
def test_every_shipped_notebook_names_the_kernel_the_batch_uses(path):
    spec = nbformat.read(path, as_version=4).metadata.get("kernelspec", {})
    assert spec.get("name") == KERNEL_NAME, f"{path.name}: kernelspec {spec!r}; the batch runs {KERNEL_NAME!r}"
    assert spec.get("display_name") == "Python 3 (ipykernel)", "the name Lab's Launcher shows for it"


def test_the_batch_kernel_resolves_to_this_environment():
    # What Lab started from .venv (and papermill) launch for `python3`: this interpreter,
    # whose site-packages hold engagement_kit; no second kernelspec is needed.
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    assert KERNEL_NAME in KernelSpecManager().find_kernel_specs()
    km = KernelManager(kernel_name=KERNEL_NAME)
    assert km.format_kernel_cmd()[0] == sys.executable


def test_make_lab_installs_no_second_kernel_and_lists_only_the_batch_kernel():
    recipe = _make_target("lab")
    assert "ipykernel install" not in recipe, "a second 'Python (engagement-kit)' kernelspec is what we removed"
    assert f"--KernelSpecManager.allowed_kernelspecs={KERNEL_NAME}" in recipe
    assert "--KernelManager.transport=ipc" in recipe, "kernels on IPC sockets: no plain-TCP warning"
    # `python -m jupyterlab`, not `bin/jupyter lab`: the subcommand script could belong to another environment
    assert "$(PY) -m jupyterlab" in recipe
    # no "get notified about Jupyter news?" pop-up over the first notebook, no update check offline
    assert "$(LAB_SETTINGS)" in (ROOT / "Makefile").read_text().split("\nlab:")[1].splitlines()[0]
    assert '"fetchNews": "false"' in (ROOT / "Makefile").read_text()


def test_ipywidgets_is_installed_and_declared_so_tqdm_finds_iprogress():
    import tomllib

    import ipywidgets  # noqa: F401  (tqdm.auto's notebook bars need it: no "IProgress not found")

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert any(d.startswith("ipywidgets") for d in deps)


# ---- progress of the long steps: shown in Lab, silent in tests and in the batch ------------
def test_progress_is_silent_outside_a_jupyter_kernel_and_when_the_batch_says_so(monkeypatch):
    from engagement_kit.progress import ENV, show_progress

    monkeypatch.delenv(ENV, raising=False)
    assert show_progress(None) is False  # pytest is no Jupyter kernel
    assert show_progress(True) is True and show_progress(False) is False
    monkeypatch.setenv(ENV, "1")
    assert show_progress(None) is True
    monkeypatch.setenv(ENV, "0")
    assert show_progress(None) is False and show_progress(True) is True  # an explicit choice wins


def test_batch_kernels_run_without_progress_bars(monkeypatch):
    from engagement_kit.progress import ENV
    from engagement_kit.reports import runner

    monkeypatch.setenv(ENV, "1")
    monkeypatch.setenv("PYTHONPATH", "")
    runner._kernel_env()  # what every worker (and so every kernel) of the batch inherits
    assert __import__("os").environ[ENV] == "0"


def test_steps_draw_a_bar_with_the_step_names_only_when_asked(capsys):
    from engagement_kit.progress import Steps

    with Steps(["CFA", "bootstrap"], progress=True, desc="dimensions") as steps:
        steps.next("CFA")
        steps.next("bootstrap")
    err = capsys.readouterr().err
    assert "dimensions" in err and "CFA" in err and "bootstrap" in err and "1/2" in err
    with Steps(["CFA"], progress=False) as steps:
        steps.next("CFA")
    assert capsys.readouterr().err == ""


def test_targeting_cross_fitting_reports_its_folds_when_asked(capsys):
    from engagement_kit.simulate import simulate
    from engagement_kit.targeting import targeting_policy

    sim = simulate(n_customers=1500, seed=2, truth=False)
    data = sim.customers.merge(sim.outcomes, on="customer_id")
    kw = dict(arm_col="touch_model", control="no_touch", value_metric="revenue", features=["segment", "prior_revenue"],
              randomised=True, folds=2, learner="linear")  # fmt: skip
    quiet = targeting_policy(data, **kw)
    assert capsys.readouterr().err == ""
    shown = targeting_policy(data, **kw, progress=True)
    err = capsys.readouterr().err
    assert "cross-fitting" in err and "fold 2 of 2" in err
    assert quiet.tables()["policy_value"].equals(shown.tables()["policy_value"]), "the bar changes no number"


def test_a_progress_bar_in_a_kernel_prints_no_iprogress_warning(tmp_path):
    # Without ipywidgets, tqdm.auto in a Jupyter kernel prints "TqdmWarning: IProgress not found"
    # above the cell's real output; with it, the bar is a widget and nothing is printed.
    import papermill as pm

    from engagement_kit.reports.runner import ipc_kernel_manager_class

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "from engagement_kit.progress import Steps\n"
        "with Steps(['a', 'b'], progress=True, desc='check') as s:\n    s.next('a'); s.next('b')\n"
        "print('done')")])  # fmt: skip
    nb.metadata["kernelspec"] = {"name": KERNEL_NAME, "display_name": "Python 3 (ipykernel)", "language": "python"}
    nbformat.write(nb, tmp_path / "in.ipynb")
    out = pm.execute_notebook(str(tmp_path / "in.ipynb"), str(tmp_path / "out.ipynb"), kernel_name=KERNEL_NAME,
                              progress_bar=False, kernel_manager_class=ipc_kernel_manager_class())  # fmt: skip
    outputs = out.cells[0].outputs
    text = "".join(o.get("text", "") for o in outputs)
    assert "done" in text and "IProgress" not in text and "TqdmWarning" not in text, text
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs), "the bar is a widget"
