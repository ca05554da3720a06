# The first two commands on a fresh machine: `make demo` and `make test`.
# Both create .venv at the repository root from scratch if it is missing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: venv test demo bench clean

venv: $(STAMP)

$(STAMP): requirements.txt setup.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -r requirements.txt
	# disentanglement-lib 1.5 pins tensorflow_probability==0.7: install it without deps.
	$(PY) -m pip install --no-deps disentanglement-lib==1.5
	$(PY) -m pip install --no-deps -e .
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -q tests

demo: $(STAMP)
	$(VENV)/bin/drpm-demo --output_dir demo_output

bench: $(STAMP)
	$(PY) scripts/bench_drpm.py

clean:
	rm -rf $(VENV) demo_output .pytest_cache
