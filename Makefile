# pp-vae: one entry point. `make run` sets up and runs the course; `make test` sets up and tests.
# Both create .venv with Python >= 3.12 when it is missing (set PYTHON=... to choose one).

VENV    := .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.pp-vae-installed
OUT     ?= build/course
# two test processes (CI has 2 cores), each notebook or test module kept whole on one of them, one thread each;
# the longest modules handed out first (tests/conftest.py's HEAVIEST_FIRST), not the ones with the most tests
PYTEST_ARGS ?= -n 2 --dist loadscope --no-loadscope-reorder
COURSE  ?= build/homework
SUBMISSIONS ?= submissions

.PHONY: run test bench setup clean help homework-release homework-autograde homework-export

help:
	@echo "make run    set up .venv, run the whole course and build its site -> $(OUT)/site/index.html"
	@echo "make test   set up .venv, lint (ruff) and type-check (mypy), run the test suite (unit tests + notebooks)"
	@echo "make bench  set up .venv and run the benchmarks -> benchmarks/RESULTS.md"
	@echo "make clean  remove build outputs (keeps .venv)"
	@echo "make homework-release                       student versions -> $(COURSE)/release"
	@echo "make homework-autograde SUBMISSIONS=DIR     grade DIR/STUDENT/ASSIGNMENT/ASSIGNMENT.ipynb"
	@echo "make homework-export                        grades -> $(COURSE)/grades.csv"

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || { python=$$(scripts/find-python) && echo "creating $(VENV) with $$python" && "$$python" -m venv $(VENV); }
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

run: $(STAMP)
	$(PY) -m pp_vae.cli course --out $(OUT)

test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	scripts/ensure-chromium
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(PY) -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) benchmarks/run_all.py

homework-release: $(STAMP)
	$(PY) -m pp_vae.cli homework release --course $(COURSE)

homework-autograde: $(STAMP)
	$(PY) -m pp_vae.cli homework autograde $(SUBMISSIONS) --course $(COURSE)

homework-export: $(STAMP)
	$(PY) -m pp_vae.cli homework export --course $(COURSE) --to $(COURSE)/grades.csv

clean:
	rm -rf build
