# Two commands do all the setup: `make demo` and `make test`. Both install into .venv.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test bench bench-quick bench-quality bench-measures bench-midi bench-audio bench-studio bench-fuzz lint install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/tunesmith demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

# Conversion shares are measured for the demo's model and a 20-minute one, where they exist.
BENCH_MODELS = $(if $(wildcard demo-output/run),--convert-model demo=demo-output/run) \
               $(if $(wildcard benchmarks/work/demo20),--convert-model 20min=benchmarks/work/demo20)

# One table: core and model figures, plus the quality figures of the last `make bench-quality`
# (benchmarks/results/quality.json) where there is one. `run.py --with-quality` runs both at once.
bench: $(STAMP)
	$(BIN)/python benchmarks/run.py $(BENCH_MODELS)

# About a minute on two cores: debug presets, and quality.py's own --quick smoke run.
bench-quick: $(STAMP)
	$(BIN)/python benchmarks/run.py --quick

# Equal-budget quality: each preset trains for 20 minutes (an hour in all); e.g. QUALITY_ARGS='--budget-minutes 5'.
bench-quality: $(STAMP)
	$(BIN)/python benchmarks/quality.py $(QUALITY_ARGS)

# The measures that cannot be gamed, per ABC model at equal settings: bits per character, valid (free and
# constrained) beside real tunes, forced endings, shape OA, the two-sample accuracy, near copies.
# MEASURES_ARGS='--model a=RUN --model b=BUNDLE --data DIR' for others than the demo runs.
bench-measures: $(STAMP)
	$(BIN)/python benchmarks/measures.py $(MEASURES_ARGS)

# MIDI: preparation speed (bach uncached and cached, a user folder), then every MIDI preset on the chorales
# at an equal budget (5 runs; MIDI_ARGS='--budget-minutes 10' for longer) and the piano roll with and without transposition.
bench-midi: $(STAMP)
	$(BIN)/python benchmarks/midi_prepare.py
	$(BIN)/python benchmarks/midi_quality.py $(MIDI_ARGS)

# Audio: preparing an hour of rendered chorales (speed, peak memory at two sizes), then every audio model at an
# equal budget (AUDIO_ARGS='--budget-minutes 10' for longer): fade and flux of continuations, the phase loss
# against MSE on phase, mel-cae reconstruction distances and speed. About 25 minutes on 2 cores.
bench-audio: $(STAMP)
	$(BIN)/python benchmarks/audio_prepare.py
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/audio_quality.py $(AUDIO_ARGS)

# The studio under load: 200 generate requests from 8 clients on loopback; p50/p95 and errors.
bench-studio: $(STAMP)
	$(BIN)/python benchmarks/studio_load.py

# The fuzz suite's long profile: every property of tests/fuzz with 20 times its CI examples, freshly random
# (FUZZ_ARGS='--scale 5 -k cli' for less); a table and benchmarks/results/fuzz.json.
bench-fuzz: $(STAMP)
	$(BIN)/python benchmarks/fuzz.py $(FUZZ_ARGS)

# Fine-tuning against training from scratch at equal steps on 300 tunes of one held-out collection (issue 18):
# held-out bits per character both ways. FINETUNE_ARGS='--quick' for a smoke run, '--preset abc-transformer' etc.
.PHONY: bench-finetune
bench-finetune: $(STAMP)
	$(BIN)/python benchmarks/finetune.py $(FINETUNE_ARGS)

# abc-tokens against abc-char (issue 18): the representation, 20 minutes of training each, free and constrained
# sampling at T = 0.5, 1, 2. TOKENS_ARGS='--quick' for a smoke run (1-minute trainings).
.PHONY: bench-tokens
bench-tokens: $(STAMP)
	$(BIN)/python benchmarks/abc_tokens.py $(TOKENS_ARGS)

# The built-in folk model (tunesmith/pretrained/folk/, `tunesmith sample folk`): the folk corpus with the default
# split, a named preset, a fixed seed and a budget in optimiser steps, exported as a float16 bundle (at most 8 MB)
# with its MODEL_CARD.md. Re-running resumes the run (benchmarks/work/pretrained/). PRETRAINED_ARGS='--steps 8000'.
# The shipped one took 3,800 steps: 2.2 minutes on a GPU, about 6 hours on 2 CPU cores (benchmarks/pretrained_gpu.sh).
.PHONY: pretrained
pretrained: $(STAMP)
	$(BIN)/python -m tunesmith.pipeline.pretrained $(PRETRAINED_ARGS)

# Every command in README.md, run as written in a fresh copy of the repository with small budgets (steps, not
# hours; `make demo` becomes `tunesmith demo --steps 4`): one line per command, ok or FAILED. About 10 minutes.
.PHONY: readme-check
readme-check: $(STAMP)
	$(BIN)/python scripts/readme_commands.py $(README_ARGS)

# The studio's browser tests, keeping a screenshot of every state in docs/screenshots (the README's pictures).
.PHONY: screenshots
screenshots: $(STAMP)
	TUNESMITH_SCREENSHOTS=docs/screenshots $(BIN)/python -m pytest -q tests/web/test_web_compose_browser.py \
		tests/web/test_web_browser_runs.py

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts

clean:
	rm -rf $(VENV) demo-output
