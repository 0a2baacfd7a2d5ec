# plastix front door: every target creates or reuses .venv and installs from pyproject.toml.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TORCH_WHEEL := $(firstword $(wildcard /opt/wheels/torch-2.13.0+cpu-*.whl))
OUT ?= demo-output

.PHONY: demo test test-slow test-notebooks bench venv clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	@# A CPU torch wheel on local disk avoids a multi-GB CUDA download.
	$(if $(TORCH_WHEEL),$(BIN)/python -m pip install -q "$(TORCH_WHEEL)",)
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/plastix demo --out $(OUT)

# Two workers (pytest-xdist), one test file each at a time: module fixtures are built once.
PYTEST_PARALLEL ?= -n 2 --dist loadfile

test: $(STAMP)
	$(BIN)/python -m pytest -q $(PYTEST_PARALLEL)

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow $(PYTEST_PARALLEL)

test-notebooks: $(STAMP)
	$(BIN)/python -m pytest -q -m notebooks

bench: $(STAMP)
	@for f in benchmarks/[!_]*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache
