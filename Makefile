# engagement-kit: everything a new user needs is `make report` and `make test`.
# Only python3 (3.11+), pip and make are assumed; the rest goes into .venv/.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
STAMP  := $(VENV)/.installed
DEMO   := data/demo/.complete
DEMO_CUSTOMERS ?= 20000
DEMO_SEED      ?= 20261123
DEMO_WEEKS     ?= 8
JOBS   ?= 2
PYTEST_ARGS ?=

.PHONY: help setup demo report test test-fast test-slow lab bench workshop clean

help:
	@echo "make report     set up .venv, create the demo data, run the report batch into reports/"
	@echo "make test       set up .venv, create the demo data, run the whole test suite"
	@echo "make test-fast  the suite without the slow calibration runs"
	@echo "make test-slow  only the slow calibration runs"
	@echo "make lab        JupyterLab with the project's kernel"
	@echo "make bench      the benchmark scripts (prints figures)"
	@echo "make workshop   prepare the offline workshop folder"

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
	$(PY) -m pytest -n $(JOBS) $(PYTEST_ARGS)

test-fast: $(STAMP) $(DEMO)
	$(PY) -m pytest -n $(JOBS) -m "not slow" $(PYTEST_ARGS)

test-slow: $(STAMP) $(DEMO)
	$(PY) -m pytest -n $(JOBS) -m slow $(PYTEST_ARGS)

lab: $(STAMP) $(DEMO)
	$(PY) -m ipykernel install --sys-prefix --name engagement-kit --display-name "Python (engagement-kit)" >/dev/null
	$(BIN)/jupyter lab notebooks/

workshop: $(STAMP) $(DEMO)
	$(BIN)/engagement-kit workshop --out workshop_kit

bench: $(STAMP)
	$(PY) -m pip install --quiet -e ".[dev,bench]"
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache workshop_kit
	find data/demo reports -mindepth 1 ! -name README.md -delete 2>/dev/null || true
