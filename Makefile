# Two commands do all set-up on a fresh machine:
#   make demo   - small end-to-end sim-to-real experiment; prints where report.html is
#   make test   - the default test suite (slow tests excluded; `make test-slow` runs them)
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.simreal-installed
export MUJOCO_GL ?= egl

.PHONY: demo test test-slow lint bench system-deps clean

$(STAMP): pyproject.toml
	@$(MAKE) --no-print-directory system-deps
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# torch first: the pinned CPU build; a bare range would pull a multi-GB CUDA build
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev,ray]'
	touch $(STAMP)

# Headless OpenGL (EGL + Mesa llvmpipe) for MuJoCo rendering; installed with apt when missing and we are root.
system-deps:
	@if ldconfig -p | grep -q 'libEGL.so.1' && ldconfig -p | grep -q 'libGL.so.1'; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && apt-get install -y -qq libegl1 libgl1 libgl1-mesa-dri >/dev/null; \
	else echo "missing EGL: install libegl1 libgl1 libgl1-mesa-dri (e.g. sudo apt-get install ...)"; exit 1; fi

demo: $(STAMP)
	$(BIN)/simreal experiment configs/experiments/demo.yaml

test: $(STAMP)
	$(BIN)/pytest -m "not slow" -n 2 --timeout 600

test-slow: $(STAMP)
	$(BIN)/pytest -m slow -n 2 --timeout 1800; rc=$$?; [ $$rc -eq 5 ] && exit 0; exit $$rc  # 5: none selected

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(STAMP)
	for script in benchmarks/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) runs report .pytest_cache .ruff_cache .mypy_cache
