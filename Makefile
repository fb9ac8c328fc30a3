# engagement-kit: everything a new user needs is `make report` and `make test`.
# Only python3 (3.11+), pip and make are assumed; the rest goes into .venv/.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
STAMP  := $(VENV)/.installed
# The stamp is renamed when the demo gains files (-2: the survey exports), so older demo folders are remade.
DEMO   := data/demo/.complete-2
DEMO_CUSTOMERS ?= 20000
DEMO_SEED      ?= 20261123
DEMO_WEEKS     ?= 8
JOBS   ?= 2
LANGUAGE ?= en
PYTEST_ARGS ?=

.PHONY: help setup demo report test test-fast test-slow lab bench workshop screenshots clean

help:
	@echo "make report     set up .venv, create the demo data, run the report batch into reports/"
	@echo "make test       set up .venv, create the demo data, run the whole test suite"
	@echo "make test-fast  the suite without the slow calibration runs"
	@echo "make test-slow  only the slow calibration runs"
	@echo "make lab        JupyterLab on .venv (one kernel: python3, the one the batch uses)"
	@echo "make screenshots  first screens of reports/latest at 1280x800 (headless Chromium) into screenshots/"
	@echo "make bench      the benchmark scripts (prints figures)"
	@echo "make workshop   prepare the offline workshop folder (LANGUAGE=it|es|zh|ru for a translated kit)"

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[dev,spark]"
	@touch $@

setup: $(STAMP)

$(DEMO): | $(STAMP)
	$(BIN)/engagement-kit simulate --customers $(DEMO_CUSTOMERS) --seed $(DEMO_SEED) --arrival-weeks $(DEMO_WEEKS) --out data/demo
	@touch $@

demo: $(DEMO)

report: $(STAMP) $(DEMO)
	$(BIN)/engagement-kit report --jobs $(JOBS)

test: $(STAMP) $(DEMO)
	$(PY) -m pytest -n $(JOBS) --dist loadgroup $(PYTEST_ARGS)

test-fast: $(STAMP) $(DEMO)
	$(PY) -m pytest -n $(JOBS) --dist loadgroup -m "not slow" $(PYTEST_ARGS)

test-slow: $(STAMP) $(DEMO)
	$(PY) -m pytest -n $(JOBS) --dist loadgroup -m slow $(PYTEST_ARGS)

# One kernel: the notebooks, the batch and Lab all use `python3`, which a JupyterLab started from
# .venv resolves to .venv's own ipykernel. Lab lists no other kernel (a "Python (engagement-kit)"
# spec left by an older `make lab` is removed) and talks to it over IPC sockets, so ipykernel
# does not warn about unencrypted TCP. No news pop-up, no update check (settings overrides in
# .venv): it works offline.
LAB_ARGS ?=
LAB_SETTINGS := $(VENV)/share/jupyter/lab/settings/overrides.json
$(LAB_SETTINGS): | $(STAMP)
	@mkdir -p $(@D)
	@echo '{"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": false}}' > $@

lab: $(STAMP) $(DEMO) $(LAB_SETTINGS)
	@$(PY) -m jupyter_client.kernelspecapp remove -y engagement-kit >/dev/null 2>&1 || true
	$(PY) -m jupyterlab --KernelSpecManager.allowed_kernelspecs=python3 --KernelManager.transport=ipc \
		--LabApp.news_url=None --LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate $(LAB_ARGS) notebooks/

workshop: $(STAMP) $(DEMO)
	$(BIN)/engagement-kit workshop --out workshop_kit --language $(LANGUAGE)

# The index and each report's first screen as a reader sees them; REPORT=reports/<run-id> for another batch.
REPORT ?= reports/latest
screenshots: $(STAMP)
	$(PY) benchmarks/screenshots.py $(REPORT)

bench: $(STAMP)
	$(PY) -m pip install --quiet -e ".[dev,bench]"
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache workshop_kit screenshots
	find data/demo reports -mindepth 1 ! -name README.md -delete 2>/dev/null || true
