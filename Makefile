# popnb — one command per job. `make` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
PAPERMILL := papermill -k python3 --log-output --no-progress-bar
PARAMS ?= params/paper.yaml
# the predictor bundle's settings: by default the study's log-mel and epochs, 04_grouped_audit's parameters under $(PARAMS) (python -m popnb.runner study)
AUDIO ?= auto
# run once, when first used (its three words below would otherwise start python three times: 2.4 s each, measured)
STUDY = $(eval STUDY := $(shell $(VENV)/bin/python -m popnb.runner study n_mels clip_seconds epochs --params $(PARAMS)))$(STUDY)
N_MELS ?= $(word 1,$(STUDY))
SECONDS ?= $(word 2,$(STUDY))
EPOCHS ?= $(word 3,$(STUDY))
# a stage of `make reproduce` outside papermill: name, UTC start and seconds appended to _runs/stages.tsv
TIMED = t0=$$(date +%s.%N); s0=$$(date -u +%Y-%m-%dT%H:%M:%S.%N); $(2) && printf '%s\t%s\t%s\n' '$(1)' "$$s0" "$$(python -c "print(round($$(date +%s.%N) - $$t0, 2))")" >> _runs/stages.tsv
LIB_NBS := $(sort $(wildcard nbs/0*.ipynb))
PAPER_NBS := $(sort $(wildcard nbs/paper/*.ipynb))

## help: list the targets (default)
help:
	@grep -E '^## ' Makefile | sed 's/^## /  make /'

## env: create .venv (if missing), install exactly the hashed lock requirements/lock.txt (CPU torch; LOCK=requirements/lock-cuda.txt in a new .venv: the CUDA build), then popnb itself
LOCK ?= requirements/lock.txt
# torch's CPU build is not on PyPI: pip takes it from wherever its own configuration finds it (find-links), else from TORCH_INDEX
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
env: $(VENV)/.installed
$(VENV)/.installed: $(LOCK) settings.ini setup.py
	@test -x $(VENV)/bin/python || python3 -m venv $(VENV)
	@awk '/^torch==/{p=1} p{print} p && !/\\$$/{exit}' $(LOCK) > $(VENV)/torch.lock
	@$(VENV)/bin/pip install -q --require-hashes --no-deps -r $(VENV)/torch.lock 2>/dev/null || \
	  $(VENV)/bin/pip install -q --require-hashes --no-deps --extra-index-url $(TORCH_INDEX) -r $(VENV)/torch.lock
	$(VENV)/bin/pip install -q --require-hashes --no-deps -r $(LOCK)
	$(VENV)/bin/pip install -q --no-deps --no-build-isolation -e .
	@touch $@

## lock: regenerate requirements/lock.txt and lock-cuda.txt from settings.ini with pip-compile (hashed, every package, Python 3.11 Linux x86-64); pins stay unless UPGRADE=1; LOCK_ARGS: more pip-compile options (e.g. --extra-index-url for the CPU torch)
PIP_COMPILE = CUSTOM_COMPILE_COMMAND="make lock" pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
  --no-emit-index-url --no-emit-find-links --extra dev --extra docs
lock: env
	$(PIP_COMPILE) $(if $(UPGRADE),--upgrade) $(LOCK_ARGS) --output-file requirements/lock.txt setup.py
	@# the CUDA lock starts from the CPU lock's pins (which win over its own), then takes torch and its CUDA libraries from PyPI alone
	{ $(if $(UPGRADE),,cat requirements/lock-cuda.txt;) awk '/^torch==/{s=1; next} s && /^ /{next} {s=0; print}' requirements/lock.txt; } > $(VENV)/lock-cuda.seed
	mv $(VENV)/lock-cuda.seed requirements/lock-cuda.txt
	env -u PIP_FIND_LINKS PIP_CONFIG_FILE=/dev/null $(PIP_COMPILE) --output-file requirements/lock-cuda.txt setup.py
.PHONY: lock

## lib: export popnb/ from the notebooks (nbdev_export), clean the notebooks, regenerate README.md
lib: env
	nbdev_export
	nbdev_clean
	$(MAKE) --no-print-directory readme

## readme: regenerate README.md from nbs/index.ipynb (executed, so its examples are live)
readme: env
	@jupyter nbconvert --log-level=ERROR --to markdown --execute --TagRemovePreprocessor.enabled=True \
	  --TagRemovePreprocessor.remove_input_tags=remove-input nbs/index.ipynb --output-dir . --output README
	@# hidden cells leave runs of empty lines: one is kept
	@cat -s README.md > README.md.part && mv README.md.part README.md

## test: check notebooks are clean and in sync with popnb/, then run nbdev_test and pytest
test: env
	@before=$$(git diff -- nbs | sha256sum); nbdev_clean; \
	  if [ "$$before" != "$$(git diff -- nbs | sha256sum)" ]; then \
	    echo "!!! nbdev_clean changed notebooks: commit cleaned notebooks (run 'make lib')"; git diff --stat -- nbs; exit 1; fi
	@before=$$(git diff -- popnb | sha256sum); nbdev_export; \
	  if [ "$$before" != "$$(git diff -- popnb | sha256sum)" ] || [ -n "$$(git status --porcelain -- popnb | grep '^??')" ]; then \
	    echo "!!! notebooks and popnb/ are not in sync: run 'make lib' and commit"; git status --short -- popnb; exit 1; fi
	@# librosa's numba kernels compiled once before two workers need them (numba#10128: a parallel first compile can leave a cache
	@# that segfaults), on one core while README.md is regenerated on the other (index.ipynb compiles none of them)
	@CUDA_VISIBLE_DEVICES="" python -c "from popnb.features import warm_numba; warm_numba()" & w=$$!; \
	  before=$$(git diff -- README.md | sha256sum); $(MAKE) --no-print-directory readme; \
	  if [ "$$before" != "$$(git diff -- README.md | sha256sum)" ]; then \
	    echo "!!! README.md is not what nbs/index.ipynb generates: run 'make lib' and commit"; wait $$w; exit 1; fi; \
	  wait $$w || { echo "!!! warm_numba failed"; exit 1; }
	CUDA_VISIBLE_DEVICES="" nbdev_test --n_workers 2 --timing
	@# two workers (pytest-xdist), a test file on one worker: tests sharing a session fixture (one smoke run) live in one file, so it is made once
	@# (not --dist loadgroup: with pytest 9 its xdist_group marks are silently ignored, measured); files in the order tests/conftest.py gives, the longest first
	CUDA_VISIBLE_DEVICES="" python -m pytest -q -n 2 --dist loadfile --no-loadscope-reorder tests --durations=10

## check-slow: the tests marked slow (what only a full run can check; make test deselects them), run at the end of reproduce
check-slow: env
	@# exit status 5: no test is marked slow (none selected), which is not a failure
	CUDA_VISIBLE_DEVICES="" python -m pytest -q -m slow tests --durations=10; rc=$$?; [ $$rc -eq 0 ] || [ $$rc -eq 5 ]
.PHONY: check-slow

## reproduce: run every notebook in order with papermill into _runs/, write figures/ and each notebook's outputs, train the predictor bundle, print the stage table (PARAMS=params/gpu.yaml: the full-resolution study)
reproduce: env
	@mkdir -p _runs; rm -f _runs/*.ipynb _runs/paper/*.ipynb; : > _runs/stages.tsv; : > _runs/runs.tsv
	python -m popnb.runner run-library --log-output $(LIB_NBS)
	popnb reproduce --params $(PARAMS)
	@echo "== nbs/index.ipynb (reads figures/tables)"; $(PAPERMILL) --cwd nbs nbs/index.ipynb _runs/index.ipynb && \
	  python -m popnb.runner write-back _runs/index.ipynb nbs/index.ipynb
	@echo "== nbs/contributing.ipynb (reads figures/manifest.json)"; $(PAPERMILL) --cwd nbs nbs/contributing.ipynb _runs/contributing.ipynb && \
	  python -m popnb.runner write-back _runs/contributing.ipynb nbs/contributing.ipynb
	@$(call TIMED,README.md,$(MAKE) --no-print-directory readme)
	@$(call TIMED,bundle (popnb train),$(MAKE) --no-print-directory bundle)
	@echo "== stage table (python -m popnb.runner stages _runs)"; python -m popnb.runner stages _runs
	@python -c "from popnb.runs import run_tally; run_tally('_runs/runs.tsv', show=True)"
	@$(MAKE) --no-print-directory check-slow

## bundle: train the corrected network on all tracks with the study's log-mel of PARAMS and write data/interim/models/fusion_cnn.pt (for `popnb predict`)
bundle: env
	popnb train --model fusion_cnn --audio-source $(AUDIO) --n-mels $(N_MELS) --seconds $(SECONDS) --epochs $(EPOCHS)

## docs: render the committed notebooks (nothing executes) into the site _docs/ with sphinx -W, and check its images and links (DOCS_PAPER=_runs/paper: executed copies instead)
docs: env
	CUDA_VISIBLE_DEVICES="" python docs/build_site.py $(if $(DOCS_PAPER),--paper $(DOCS_PAPER))

## docs-check: build the site, load its index and every paper page in headless Chromium from file://, fail on an image that did not load, save PNGs in _docs/_shots/
docs-check: docs
	python docs/check_browser.py --site _docs

## clean-cache: remove the cached protocol runs and their checkpoints (data/interim/runs, predictions, checkpoints); never data/raw or the spectrogram stores
clean-cache:
	rm -rf data/interim/runs data/interim/predictions data/interim/checkpoints

## clean: remove executed notebooks and caches (never data/raw)
clean:
	rm -rf _runs _docs _proc .pytest_cache

.PHONY: help env lib readme test reproduce bundle docs docs-check clean clean-cache
