# The first two commands on a fresh machine: `make demo` and `make test`.
# Both create .venv at the repository root from scratch if it is missing, on
# the pinned stack (requirements.txt). `make test-modern` tests the core
# library on the current TensorFlow stack in .venv-modern.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
MODERN_VENV := .venv-modern
MODERN_STAMP := $(MODERN_VENV)/.installed

# Interpreters, newest first. The pinned stack needs Python 3.11 or 3.10:
# tensorflow-cpu 2.15.1 (for the disentanglement_lib integration) has wheels
# for Python 3.9-3.11 only. The current stack takes the newest of 3.10-3.13.
# PYTHON=/path/to/python overrides the search for .venv.
PINNED_PYTHONS := 3.11 3.10
MODERN_PYTHONS := 3.13 3.12 3.11 3.10

# `python3.X` on PATH, then ~/.pyenv/versions: the first that really is 3.X
# and can create a venv (pyenv's shim of an inactive version is on PATH but
# fails; Debian's python3.X may lack ensurepip). Empty if none.
find_python = $(shell for v in $(1); do \
  for p in python$$v $${PYENV_ROOT:-$(HOME)/.pyenv}/versions/$$v*/bin/python$$v; do \
    if $$p -c "import sys, venv, ensurepip; sys.exit(sys.version[:len('$$v') + 1] != '$$v.')" >/dev/null 2>&1; \
    then $$p -c "import sys; print(sys.executable)"; exit 0; fi; \
  done; done)

.PHONY: venv venv-modern test test-modern demo bench generative-docs table1-demo table1-quick table1-cpu table1-variants table1-variants-prior generative-validation-run clean

venv: $(STAMP)
venv-modern: $(MODERN_STAMP)

$(STAMP): requirements.txt setup.py pyproject.toml
	@python="$(or $(PYTHON),$(call find_python,$(PINNED_PYTHONS)))"; \
	if [ -z "$$python" ] || ! "$$python" -c "import sys; sys.exit(sys.version_info[:2] not in ((3, 10), (3, 11)))" 2>/dev/null; then \
	  echo "make: the pinned stack needs Python 3.11 or 3.10 (tensorflow-cpu 2.15.1, which the disentanglement_lib integration needs, has no wheels for newer Pythons); none found on PATH or in ~/.pyenv/versions$(if $(PYTHON), (PYTHON=$(PYTHON) is not one)) -- install one or pass PYTHON=/path/to/python3.11." >&2; \
	  exit 1; \
	fi; \
	echo "$$python -m venv $(VENV)"; "$$python" -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -r requirements.txt
	# disentanglement-lib 1.5 pins tensorflow_probability==0.7: install it without deps.
	$(PY) -m pip install --no-deps disentanglement-lib==1.5
	$(PY) -m pip install --no-deps -e .
	touch $(STAMP)

# The current stack from setup.py's own metadata (core + `tf` + `test`
# extras, newest releases): proves the declared dependencies are complete.
$(MODERN_STAMP): setup.py pyproject.toml
	@python="$(call find_python,$(MODERN_PYTHONS))"; \
	if [ -z "$$python" ]; then \
	  echo "make: the current TensorFlow stack needs Python 3.10-3.13 (the versions TensorFlow >= 2.16 has wheels for); none found on PATH or in ~/.pyenv/versions." >&2; \
	  exit 1; \
	fi; \
	echo "$$python -m venv $(MODERN_VENV)"; "$$python" -m venv $(MODERN_VENV)
	$(MODERN_VENV)/bin/python -m pip install --upgrade pip
	$(MODERN_VENV)/bin/python -m pip install -e ".[tf,test]"
	touch $(MODERN_STAMP)

# The tests compare training runs bit for bit (resume == uninterrupted). Under
# machine load TF's CPU results are not bit-reproducible with oneDNN kernels
# (load-dependent summation order) or with concurrent op execution (measured:
# about one step in a hundred rounds differently), so tests run with TF's own
# kernels and one inter-op thread (each op still uses all cores).
TEST_ENV := TF_ENABLE_ONEDNN_OPTS=0 TF_NUM_INTEROP_THREADS=1

test: $(STAMP)
	$(TEST_ENV) $(PY) -m pytest -q tests

# The same suite on the current stack, with Keras 3 and then with legacy
# tf-keras (TF_USE_LEGACY_KERAS=1); the disentanglement_lib tests skip there
# (tests/disentanglement_ext/conftest.py says why).
test-modern: $(MODERN_STAMP)
	$(TEST_ENV) $(MODERN_VENV)/bin/python -m pytest -q -rs tests
	$(TEST_ENV) TF_USE_LEGACY_KERAS=1 $(MODERN_VENV)/bin/python -m pytest -q -rs tests

# Sample DRPM partitions; train the generative DRPM-VAE on the embedded digits,
# evaluate it and draw its samples; then the Table 1 pipeline on the demo
# preset (about 8 minutes in all on 2 cores).
demo: $(STAMP)
	$(VENV)/bin/drpm-demo --output_dir demo_output
	$(VENV)/bin/drpm-train-generative --model_dir demo_output/digits_quick \
	  --gin_config drpm_tf/gin_configs/generative/digits_quick.gin
	$(VENV)/bin/drpm-evaluate-generative --model_dir demo_output/digits_quick
	$(VENV)/bin/drpm-sample-partitions --model_dir demo_output/digits_quick
	$(MAKE) table1-demo

# Table 1 / Figure 5 pipeline end to end on the demo preset (~3 min on 2 cores);
# prints the table.
table1-demo: $(STAMP)
	$(VENV)/bin/drpm-reproduce-table1 --preset demo --output_dir demo_output/table1 --jobs 2

# Every cell of Table 1 at the `quick` scale (~1 h on 2 cores). Rerunning
# skips finished runs.
table1-quick: $(STAMP)
	$(VENV)/bin/drpm-reproduce-table1 --preset quick --output_dir runs/table1_quick --jobs 2

# Every cell of Table 1 at the `cpu` scale (about 2.5 h on 2 quiet cores); the table
# and plots in docs/results/ come from this target.
table1-cpu: $(STAMP)
	$(VENV)/bin/drpm-reproduce-table1 --preset cpu --output_dir runs/table1_cpu --jobs 2 --report_dir docs/results

# Table 1 variants (DRPM score / prior settings, HGVAE and the dlib objective
# as references) at the `cpu` scale, scored on the validation pairs:
# docs/results/variants_<stage>.md.
table1-variants: $(STAMP)
	$(VENV)/bin/drpm-table1-variants --preset cpu --stage scores --jobs 2 \
	  --report docs/results/variants_scores.md

# Stages 'omega' (what the omega head reads) and 'partition_kl' (exact
# estimator, gamma = 0), after `make table1-variants` (their reference runs
# are the scores stage's): 12 more runs each.
table1-variants-prior: $(STAMP)
	$(VENV)/bin/drpm-table1-variants --preset cpu --stage omega --jobs 2 \
	  --report docs/results/variants_omega.md
	$(VENV)/bin/drpm-table1-variants --preset cpu --stage partition_kl --jobs 2 \
	  --report docs/results/variants_partition_kl.md

GENERATIVE_SEEDS := 0 1 2
GENERATIVE_RUNS := $(foreach s,$(GENERATIVE_SEEDS),runs/digits_quick_seed$(s))
GENERATIVE_EXACT_RUNS := $(foreach s,$(GENERATIVE_SEEDS),runs/digits_quick_exact_seed$(s))
# The pretraining recipes compared on the validation split (name: bindings).
GENERATIVE_RECIPES := autoencoder300 contrastive1000
RECIPE_autoencoder300 := --gin_bindings "train_generative.pretrain_objective = 'autoencoder'" \
  --gin_bindings "train_generative.pretrain_steps = 300"
RECIPE_contrastive1000 := --gin_bindings "train_generative.pretrain_objective = 'contrastive'" \
  --gin_bindings "train_generative.pretrain_steps = 1000"
GENERATIVE_VALIDATION_RUNS := $(foreach r,$(GENERATIVE_RECIPES),$(foreach s,$(GENERATIVE_SEEDS),runs/generative_validation/$(r)_seed$(s)))

# docs/generative.md and its figures, from committed configs only: the
# pretraining recipes on the validation split (held-out training images), then
# three seeds with the default (Lemma 4 bound) KL, each also evaluated right
# after its initialization, and three with the exact KL (slower: about 0.8 s a
# step), on the test images.
generative-docs: $(STAMP)
	for r in $(GENERATIVE_RECIPES); do for s in $(GENERATIVE_SEEDS); do \
	  d=runs/generative_validation/$${r}_seed$$s; \
	  $(MAKE) --no-print-directory generative-validation-run RUN=$$d RECIPE=$$r SEED=$$s \
	  || exit 1; \
	done; done
	for s in $(GENERATIVE_SEEDS); do \
	  $(VENV)/bin/drpm-train-generative --model_dir runs/digits_quick_seed$$s \
	    --gin_config drpm_tf/gin_configs/generative/digits_quick.gin \
	    --gin_bindings "train_generative.seed = $$s" && \
	  $(VENV)/bin/drpm-evaluate-generative --model_dir runs/digits_quick_seed$$s && \
	  $(VENV)/bin/drpm-evaluate-generative --model_dir runs/digits_quick_seed$$s \
	    --stage initialization && \
	  $(VENV)/bin/drpm-train-generative --model_dir runs/digits_quick_exact_seed$$s \
	    --gin_config drpm_tf/gin_configs/generative/digits_quick.gin \
	    --gin_bindings "train_generative.seed = $$s" \
	    --gin_bindings "drpm_vae.kl_estimator = 'exact'" && \
	  $(VENV)/bin/drpm-evaluate-generative --model_dir runs/digits_quick_exact_seed$$s \
	  || exit 1; \
	done
	$(VENV)/bin/drpm-sample-partitions --model_dir runs/digits_quick_seed0 \
	  --output_dir docs/figures/generative
	$(VENV)/bin/drpm-generative-report --runs $(GENERATIVE_RUNS) \
	  --exact_runs $(GENERATIVE_EXACT_RUNS) \
	  --validation_runs $(GENERATIVE_VALIDATION_RUNS) \
	  --figures docs/figures/generative --output docs/generative.md

# One validation run of `make generative-docs` (RUN, RECIPE, SEED).
generative-validation-run: $(STAMP)
	$(VENV)/bin/drpm-train-generative --model_dir $(RUN) \
	  --gin_config drpm_tf/gin_configs/generative/digits_quick.gin \
	  --gin_bindings "load_dataset.evaluation_split = 'validation'" \
	  --gin_bindings "train_generative.seed = $(SEED)" $(RECIPE_$(RECIPE))
	$(VENV)/bin/drpm-evaluate-generative --model_dir $(RUN)
	$(VENV)/bin/drpm-evaluate-generative --model_dir $(RUN) --stage initialization

# Benchmarks live in benchmarks/ (not an installed package) and write the docs
# page they are given; the weak-training one is not part of `make bench`:
# `$(PY) benchmarks/bench_weak.py --output docs/benchmarks_weak.md`.
bench: $(STAMP)
	$(PY) benchmarks/bench_drpm.py --output docs/benchmarks.md
	$(PY) benchmarks/bench_generative.py --output docs/benchmarks_generative.md

clean:
	rm -rf $(VENV) $(MODERN_VENV) demo_output runs .pytest_cache
